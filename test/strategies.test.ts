import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import { Passport } from 'passport';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { BasicTokenStrategy, BearerTokenStrategy, TokenService } from '../lib/index';

const basic = (login: string, password: string) =>
  `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}`;

// The strategies as an app that runs passport itself would use them: its own Passport instance,
// passport.authenticate(), session: false.
function appWith(strategy: BearerTokenStrategy | BasicTokenStrategy, name: string, bodyParser = false) {
  const passport = new Passport();
  passport.use(name, strategy);
  const app = express();
  if (bodyParser) app.use(express.urlencoded({ extended: false }));
  app.use(passport.initialize());
  app.all('/', passport.authenticate(name, { session: false }), (req, res) => {
    res.json({ user: req.user, authInfo: req.authInfo ?? null });
  });
  return app;
}

describe('BearerTokenStrategy (fixes passport-http-bearer)', () => {
  const tokens = new TokenService({ store: new MemoryTokenStore() });

  test('authenticates and passes authInfo', async () => {
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const res = await request(appWith(new BearerTokenStrategy({ tokens }), 'bearer'))
      .get('/')
      .set('Authorization', `Bearer ${issued.token}`)
      .expect(200);
    assert.deepEqual(res.body.user, { login: 'admin' });
    assert.equal(res.body.authInfo.tokenId, issued.id);
  });

  test('scheme in any case, anchored', async () => {
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const app = appWith(new BearerTokenStrategy({ tokens }), 'bearer');
    await request(app).get('/').set('Authorization', `bEaReR ${issued.token}`).expect(200);
    await request(app).get('/').set('Authorization', `xBearer ${issued.token}`).expect(401);
  });

  test('does not read ?access_token= or a body access_token unless allowed (passport-http-bearer always does)', async () => {
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const strict = appWith(new BearerTokenStrategy({ tokens }), 'bearer', true);
    await request(strict).get(`/?access_token=${issued.token}`).expect(401);
    await request(strict).post('/').type('form').send({ access_token: issued.token }).expect(401);
    const lenient = appWith(new BearerTokenStrategy({ tokens, allowQueryToken: true }), 'bearer', true);
    await request(lenient).get(`/?access_token=${issued.token}`).expect(200);
    await request(lenient).post('/').type('form').send({ access_token: issued.token }).expect(200);
    // RFC 6750: more than one method at once is invalid_request.
    await request(lenient)
      .get(`/?access_token=${issued.token}`)
      .set('Authorization', `Bearer ${issued.token}`)
      .expect(400);
  });

  test('invalid token: 401 with an RFC 6750 invalid_token challenge', async () => {
    const res = await request(appWith(new BearerTokenStrategy({ tokens, realm: 'API' }), 'bearer'))
      .get('/')
      .set('Authorization', 'Bearer pat_nope')
      .expect(401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="API", error="invalid_token"');
  });

  test('requires a token service', () => {
    assert.throws(() => new BearerTokenStrategy({} as never), TypeError);
  });
});

describe('BasicTokenStrategy (fixes passport-http)', () => {
  const tokens = new TokenService({ store: new MemoryTokenStore() });

  test('passes authInfo (passport-http calls success(user) without info)', async () => {
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const res = await request(appWith(new BasicTokenStrategy({ tokens }), 'basic'))
      .get('/')
      .set('Authorization', basic('admin', issued.token))
      .expect(200);
    assert.equal(res.body.authInfo.tokenId, issued.id);
    assert.equal(res.body.authInfo.scheme, 'basic');
  });

  test('a password containing ":" is kept whole (passport-http splits on every ":")', async () => {
    // A store whose "tokens" use a custom check would see the truncated value with passport-http;
    // here the whole password reaches the token service, so appending ":x" makes it a different password.
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const app = appWith(new BasicTokenStrategy({ tokens }), 'basic');
    await request(app)
      .get('/')
      .set('Authorization', basic('admin', `${issued.token}:x`))
      .expect(401);
    const seen: string[] = [];
    const spy = new TokenService({ store: new MemoryTokenStore() });
    // check() is what the strategies and the middleware call with the password.
    const original = spy.checker.check.bind(spy.checker);
    spy.checker.check = (token, ...rest) => {
      seen.push(token);
      return original(token, ...rest);
    };
    await request(appWith(new BasicTokenStrategy({ tokens: spy }), 'basic'))
      .get('/')
      .set('Authorization', basic('admin', 'a:b:c'))
      .expect(401);
    assert.deepEqual(seen, ['a:b:c']);
  });

  test('UTF-8 logins, scheme in any case, charset in the challenge', async () => {
    const issued = await tokens.issue({ user: 'zoë', expiresIn: '1h' });
    const app = appWith(new BasicTokenStrategy({ tokens, realm: 'WebDAV' }), 'basic');
    await request(app)
      .get('/')
      .set('Authorization', `BASIC ${basic('zoë', issued.token).slice(6)}`)
      .expect(200);
    const res = await request(app).get('/').expect(401);
    assert.equal(res.headers['www-authenticate'], 'Basic realm="WebDAV", charset="UTF-8"');
    await request(app).get('/').set('Authorization', 'XBasic abc').expect(401);
  });

  test('the login must own the token', async () => {
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    await request(appWith(new BasicTokenStrategy({ tokens }), 'basic'))
      .get('/')
      .set('Authorization', basic('bob', issued.token))
      .expect(401);
  });

  test('malformed credentials: 400', async () => {
    await request(appWith(new BasicTokenStrategy({ tokens }), 'basic'))
      .get('/')
      .set('Authorization', 'Basic %%%')
      .expect(400);
  });
});
