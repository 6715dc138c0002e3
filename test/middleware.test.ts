import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import express5 from 'express';
import express4 from 'express4';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { RedisTokenStore } from '../adapters/redis';
import { personalTokenAuth, TokenService, type TokenStore } from '../lib/index';
import { connectTestRedis, deleteKeys, uniquePrefix } from './support/redis';
import { unavailableStore } from './support/unavailable-store';

const basic = (login: string, password: string) =>
  `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}`;
const challenges = (res: request.Response) => String(res.headers['www-authenticate']);

for (const [version, express] of [
  ['Express 5', express5],
  ['Express 4', express4],
] as const) {
  describe(`personalTokenAuth() on ${version}`, () => {
    const store = new MemoryTokenStore();
    const tokens = new TokenService({ store });
    const disabled = new Set(['carol']);

    function makeApp(options: Parameters<typeof personalTokenAuth>[0] = {}) {
      const app = express();
      app.use(
        '/api',
        personalTokenAuth({
          tokens,
          resolveUser: (login) => (disabled.has(login) ? null : { login, kind: 'app-user' }),
          ...options,
        }),
      );
      app.get('/api/me', (req, res) => {
        res.json({ user: req.user ?? null, authInfo: req.authInfo ?? null });
      });
      return app;
    }
    const app = makeApp();

    test('Bearer: req.user is the resolved user and req.authInfo describes the token', async () => {
      const issued = await tokens.issue({ user: 'admin', autoRefresh: '10m', scopes: ['node:n1:r'] });
      const res = await request(app)
        .get('/api/me')
        .set('Authorization', `Bearer ${issued.token}`)
        .expect(200);
      assert.deepEqual(res.body.user, { login: 'admin', kind: 'app-user' });
      assert.equal(res.body.authInfo.tokenId, issued.id);
      assert.equal(res.body.authInfo.login, 'admin');
      assert.deepEqual(res.body.authInfo.scopes, ['node:n1:r']);
      assert.equal(res.body.authInfo.autoRefresh, 600_000);
      assert.equal(res.body.authInfo.scheme, 'bearer');
      assert.ok(Date.parse(res.body.authInfo.expiresAt) > Date.now());
    });

    test('Basic login:token, scheme in any case; the password may contain ":" ', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const res = await request(app)
        .get('/api/me')
        .set('Authorization', basic('admin', issued.token))
        .expect(200);
      assert.equal(res.body.authInfo.scheme, 'basic');
      await request(app)
        .get('/api/me')
        .set('Authorization', `bAsIc ${basic('admin', issued.token).slice(6)}`)
        .expect(200);
      await request(app).get('/api/me').set('Authorization', `bearer ${issued.token}`).expect(200);
      // A password with more colons is the whole rest: here it is not the token, so 401 (not a truncated match).
      await request(app)
        .get('/api/me')
        .set('Authorization', basic('admin', `${issued.token}:extra`))
        .expect(401);
    });

    test('Basic with a UTF-8 login', async () => {
      const issued = await tokens.issue({ user: 'zoë', expiresIn: '1h' });
      const res = await request(app)
        .get('/api/me')
        .set('Authorization', basic('zoë', issued.token))
        .expect(200);
      assert.equal(res.body.user.login, 'zoë');
    });

    test('no credentials: 401 with both challenges so browsers and WebDAV clients prompt', async () => {
      const res = await request(app).get('/api/me').expect(401);
      assert.equal(challenges(res), 'Bearer realm="Users", Basic realm="Users", charset="UTF-8"');
      assert.deepEqual(res.body, { error: 'unauthorized' });
    });

    test('bad, wrong-user, disabled-user, expired or revoked token: 401 invalid_token, all alike', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const carols = await tokens.issue({ user: 'carol', expiresIn: '1h' });
      const revoked = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      await tokens.revoke(revoked.id);
      const cases = [
        `Bearer ${issued.token.slice(0, -1)}${issued.token.endsWith('x') ? 'y' : 'x'}`, // one character off
        'Bearer pat_notatoken',
        `Bearer ${revoked.token}`,
        basic('bob', issued.token),
        basic('admin', 'hunter2'),
        basic('', issued.token),
        basic('admin', ''),
        `Bearer ${carols.token}`,
        basic('carol', carols.token),
      ];
      const bodies = new Set<string>();
      for (const header of cases) {
        const res = await request(app).get('/api/me').set('Authorization', header).expect(401);
        assert.equal(
          challenges(res),
          'Bearer realm="Users", error="invalid_token", Basic realm="Users", charset="UTF-8"',
        );
        bodies.add(JSON.stringify(res.body));
        assert.ok(!res.text.includes(issued.token) && !res.text.includes(carols.token));
      }
      assert.deepEqual([...bodies], ['{"error":"invalid_token"}']);
    });

    test('malformed header: 400 with challenges, never a 500', async () => {
      for (const header of [
        'Bearer',
        'Bearer a b',
        'Basic %%%',
        'Basic YQ==',
        `Basic ${Buffer.from([0xc3, 0x28, 0x3a, 0x61]).toString('base64')}`,
      ]) {
        const res = await request(app).get('/api/me').set('Authorization', header).expect(400);
        assert.match(
          challenges(res),
          /^Bearer realm="Users", error="invalid_request", Basic realm="Users", charset="UTF-8"$/,
        );
      }
    });

    test('tokens in the query string or body are refused', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      await request(app).get(`/api/me?access_token=${issued.token}`).expect(401);
      const withBody = express();
      withBody.use(express.urlencoded({ extended: false }));
      withBody.use(personalTokenAuth({ tokens }));
      withBody.post('/', (_req, res) => res.send('in'));
      await request(withBody).post('/').type('form').send({ access_token: issued.token }).expect(401);
    });

    test('optional: no credentials pass untouched, bad credentials are still refused', async () => {
      const optionalApp = makeApp({ optional: true });
      const res = await request(optionalApp).get('/api/me').expect(200);
      assert.deepEqual(res.body, { user: null, authInfo: null });
      await request(optionalApp).get('/api/me').set('Authorization', 'Bearer pat_bad').expect(401);
      await request(optionalApp).get('/api/me').set('Authorization', 'Negotiate abc').expect(200);
    });

    test('schemes: only the enabled ones, and only their challenges', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const basicOnly = makeApp({ schemes: ['basic'], realm: 'WebDAV' });
      const res = await request(basicOnly)
        .get('/api/me')
        .set('Authorization', `Bearer ${issued.token}`)
        .expect(401);
      assert.equal(challenges(res), 'Basic realm="WebDAV", charset="UTF-8"');
      await request(basicOnly).get('/api/me').set('Authorization', basic('admin', issued.token)).expect(200);
      const bearerOnly = makeApp({ schemes: ['bearer'] });
      await request(bearerOnly).get('/api/me').set('Authorization', basic('admin', issued.token)).expect(401);
    });

    test('store unavailable: 503 with Retry-After, within the timeout, never a pass', async () => {
      const failing = unavailableStore();
      const hanging: TokenStore = { ...failing, verify: () => new Promise(() => {}) };
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      for (const store of [failing, hanging]) {
        const down = makeApp({ tokens: new TokenService({ store, timeout: 200 }) });
        const res = await request(down)
          .get('/api/me')
          .set('Authorization', `Bearer ${issued.token}`)
          .expect(503);
        assert.equal(res.headers['retry-after'], '1');
        assert.deepEqual(res.body, { error: 'temporarily_unavailable' });
        assert.ok(!res.text.includes(issued.token));
      }
    });

    test('an error thrown by resolveUser goes to the app error handler, not a crash', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const throwing = makeApp({
        resolveUser: () => {
          throw new Error('directory down');
        },
      });
      throwing.use(
        (_error: Error, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
          res.status(502).send('handled');
        },
      );
      await request(throwing).get('/api/me').set('Authorization', `Bearer ${issued.token}`).expect(502);
    });

    test('bad options are TypeErrors at setup', () => {
      assert.throws(() => personalTokenAuth({ tokens, schemes: [] }), TypeError);
      assert.throws(() => personalTokenAuth({ tokens, schemes: ['digest' as 'basic'] }), TypeError);
      assert.throws(() => personalTokenAuth({ tokens, realm: 'a"b' }), TypeError);
    });
  });
}

describe('personalTokenAuth() with no arguments: Redis at REDIS_URL, prefix pat:', () => {
  const client = connectTestRedis();
  const middleware = personalTokenAuth();
  const created: string[] = [];
  after(async () => {
    for (const id of created) await middleware.tokens.revoke(id);
    await middleware.tokens.close();
    await client.quit();
  });

  test('accepts a token issued into the default store (as the CLI does)', async () => {
    const tokens = new TokenService({ store: new RedisTokenStore(client) });
    const issued = await tokens.issue({ user: 'zero-config', expiresIn: '1m' });
    created.push(issued.id);
    const app = express5();
    app.get('/', middleware, (req, res) => res.json(req.authInfo));
    const res = await request(app).get('/').set('Authorization', `Bearer ${issued.token}`).expect(200);
    assert.equal(res.body.tokenId, issued.id);
    assert.equal(await client.exists(`pat:t:{${issued.id}}`), 1);
  });
});

describe('personalTokenAuth() on the Redis store', () => {
  const client = connectTestRedis();
  const prefix = uniquePrefix('middleware');
  const tokens = new TokenService({ store: new RedisTokenStore(client, { prefix }) });
  after(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });

  test('Bearer and Basic both work; revocation is immediate', async () => {
    const app = express5();
    app.use(personalTokenAuth({ tokens }));
    app.get('/', (req, res) => res.json(req.authInfo));
    const issued = await tokens.issue({ user: 'admin', autoRefresh: '10m' });
    await request(app).get('/').set('Authorization', `Bearer ${issued.token}`).expect(200);
    await request(app).get('/').set('Authorization', basic('admin', issued.token)).expect(200);
    await tokens.revoke(issued.id);
    await request(app).get('/').set('Authorization', `Bearer ${issued.token}`).expect(401);
  });
});
