// leakReportRouter(): RFC 7009 revocation by whoever holds a token, on the memory store and the real
// Redis (two services sharing it, one with a cache), and random requests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { RedisTokenStore } from '../adapters/redis';
import {
  type LeakReportRouterOptions,
  leakReportRouter,
  OptionsError,
  personalTokenAuth,
  type TokenEvent,
  TokenService,
} from '../lib/index';
import { generateToken } from '../lib/token-format';
import { onBothStores } from './support/both-stores';
import { connectTestRedis, deleteKeys, uniquePrefix } from './support/redis';
import { unavailableStore } from './support/unavailable-store';

type App = ReturnType<typeof express>;

/** An app with the leak report endpoint, and a route the tokens authenticate on. */
function makeApp(options: LeakReportRouterOptions, guard: TokenService = options.tokens): App {
  const app = express();
  app.set('trust proxy', 'loopback');
  app.use(leakReportRouter(options));
  app.get('/me', personalTokenAuth({ tokens: guard }), (req, res) => {
    res.json({ user: req.user });
  });
  return app;
}

const report = (app: App, body: Record<string, string>, ip = '203.0.113.7') =>
  request(app).post('/revoke').set('X-Forwarded-For', ip).type('form').send(body);

const me = (app: App, token: string) => request(app).get('/me').set('Authorization', `Bearer ${token}`);

/** What an answer shows a client: status, headers but the date, and body. */
function shown(res: request.Response): string {
  const { date: _date, ...headers } = res.headers;
  return JSON.stringify({ status: res.status, headers, body: res.text });
}

const redis = connectTestRedis();
const redisPrefix = uniquePrefix('leak-report');
const services: TokenService[] = [];
after(async () => {
  for (const service of services) await service.close();
  await deleteKeys(redis, redisPrefix);
  await redis.quit();
});

onBothStores('leakReportRouter', ({ makeStore }) => {
  const events: TokenEvent[] = [];
  let tokens: TokenService;
  let app: App;
  before(() => {
    tokens = new TokenService({ store: makeStore(), onEvent: (event) => void events.push(event) });
    app = makeApp({ tokens, throttle: false });
  });

  test('a live token: 200, and 401 on its very next request; the event names the reporter', async () => {
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    await me(app, issued.token).expect(200);
    events.length = 0;
    const res = await report(app, { token: issued.token }).expect(200);
    assert.equal(res.text, '');
    assert.equal(res.headers['cache-control'], 'no-store');
    await me(app, issued.token).expect(401);
    const leaked = events.find((event) => event.type === 'leaked');
    assert.deepEqual(leaked && { ...leaked, time: null }, {
      type: 'leaked',
      time: null,
      tokenId: issued.id,
      login: 'alice',
      source: 'leak report from 203.0.113.7',
    });
    assert.ok(!JSON.stringify(events).includes(issued.token.slice(20)));
  });

  test('live, revoked, unknown, garbage, another prefix, any hint: the same answer', async () => {
    const live = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const revoked = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    await tokens.revoke(revoked.id);
    const unknown = generateToken('pat_', { autoRefresh: null, hardExpiresAt: null }).token;
    const other = generateToken('ghp_', { autoRefresh: null, hardExpiresAt: null }).token;
    const bodies: Record<string, string>[] = [
      { token: live.token },
      { token: revoked.token },
      { token: unknown },
      { token: other },
      { token: 'garbage' },
      { token: live.id },
      { token: `${'x'.repeat(3000)}` },
      { token: unknown, token_type_hint: 'access_token' },
      { token: unknown, token_type_hint: 'refresh_token' },
      { token: unknown, token_type_hint: 'no such type' },
    ];
    const answers = new Set<string>();
    for (const body of bodies) answers.add(shown(await report(app, body)));
    assert.equal(answers.size, 1, [...answers].join('\n'));
    assert.match([...answers][0]!, /"status":200/);
    await me(app, live.token).expect(401);
  });

  test('no token, an empty one or two: 400 invalid_request, and nothing revoked', async () => {
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    for (const body of ['', 'token=', 'token_type_hint=access_token', `token=${issued.token}&token=x`]) {
      const res = await request(app).post('/revoke').type('form').send(body).expect(400);
      assert.deepEqual(res.body, { error: 'invalid_request' });
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.ok(!res.text.includes(issued.token));
    }
    await me(app, issued.token).expect(200);
  });

  test('GET 405 with Allow; a body past 4 KiB 413; JSON or text 415; a compressed form 415', async () => {
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    for (const method of ['get', 'put', 'delete', 'patch'] as const) {
      const res = await request(app)[method]('/revoke').expect(405);
      assert.equal(res.headers.allow, 'POST');
      assert.equal(res.headers['cache-control'], 'no-store');
    }
    await request(app)
      .post('/revoke')
      .type('form')
      .send(`token=${issued.token}&pad=${'x'.repeat(4096)}`)
      .expect(413);
    for (const type of ['application/json', 'text/plain', 'multipart/form-data; boundary=x']) {
      const body =
        type === 'application/json' ? JSON.stringify({ token: issued.token }) : `token=${issued.token}`;
      const res = await request(app).post('/revoke').set('Content-Type', type).send(body).expect(415);
      assert.ok(!res.text.includes(issued.token));
    }
    await request(app)
      .post('/revoke')
      .type('form')
      .set('Content-Encoding', 'gzip')
      .send(`token=${issued.token}`)
      .expect(415);
    await request(app)
      .post('/revoke')
      .set('Content-Type', 'application/x-www-form-urlencoded; charset=latin1')
      .send(`token=${issued.token}`)
      .expect(415);
    await me(app, issued.token).expect(200);
  });

  test('the default throttle: the 21st report from one address in 15 minutes is 429, others go on', async () => {
    const throttled = makeApp({ tokens });
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    for (let i = 0; i < 20; i++) await report(throttled, { token: 'garbage' }, '198.51.100.1').expect(200);
    events.length = 0;
    const refused = await report(throttled, { token: issued.token }, '198.51.100.1').expect(429);
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.equal(refused.headers['cache-control'], 'no-store');
    assert.deepEqual(
      events.map((event) => event.type),
      ['throttled'],
    );
    await me(throttled, issued.token).expect(200);
    await report(throttled, { token: issued.token }, '198.51.100.2').expect(200);
    await me(throttled, issued.token).expect(401);
  });
});

describe('leakReportRouter: through a cache in another service on the same Redis', () => {
  test('a 200 for a live token is a 401 at once in the other service, however often it was cached', async () => {
    const prefix = `${redisPrefix}shared:`;
    const reporter = new TokenService({ store: new RedisTokenStore(redis, { prefix }) });
    const cached = new TokenService({
      store: new RedisTokenStore(redis, { prefix }),
      cache: { maxStale: '1h' },
    });
    services.push(reporter, cached);
    const app = makeApp({ tokens: reporter, throttle: false }, cached);
    for (let round = 0; round < 10; round++) {
      const issued = await reporter.issue({ user: 'alice', expiresIn: '1h' });
      for (let i = 0; i < 3; i++) await me(app, issued.token).expect(200);
      await report(app, { token: issued.token }).expect(200);
      await me(app, issued.token).expect(401);
    }
  });
});

describe('leakReportRouter: options and a store that is down', () => {
  test('options are checked, by name', () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    assert.throws(
      () => leakReportRouter({ tokens, throtle: false } as never),
      (error) => error instanceof OptionsError && /throttle/.test(error.message),
    );
    assert.throws(() => leakReportRouter({} as never), /tokens/);
    assert.throws(() => leakReportRouter({ tokens, bodyLimit: -1 }), /bodyLimit/);
    assert.throws(
      () => leakReportRouter({ tokens, throttle: { maxFailures: 0, window: '1m' } }),
      /maxFailures/,
    );
    assert.throws(
      () => leakReportRouter({ tokens: new TokenService({ store: unavailableStore() }) }),
      /throttle/,
    );
  });

  test('a well-formed token with the store down: 503 with Retry-After; garbage is still 200', async () => {
    const tokens = new TokenService({ store: unavailableStore() });
    const app = makeApp({ tokens, throttle: false, retryAfter: 5 });
    const token = generateToken('pat_', { autoRefresh: null, hardExpiresAt: null }).token;
    const res = await report(app, { token }).expect(503);
    assert.equal(res.headers['retry-after'], '5');
    assert.deepEqual(res.body, { error: 'temporarily_unavailable' });
    assert.ok(!res.text.includes(token));
    await report(app, { token: 'garbage' }).expect(200);
  });
});

describe('leakReportRouter: random requests', () => {
  test('any method, type, encoding and body: 2xx or 4xx, and only the live token in `token` is revoked', async () => {
    const events: TokenEvent[] = [];
    const tokens = new TokenService({
      store: new MemoryTokenStore(),
      onEvent: (event) => void events.push(event),
    });
    const app = makeApp({ tokens, throttle: false });
    const bystander = await tokens.issue({ user: 'bob', expiresIn: '1h' });
    const target = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    let targetRevoked = false;
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom(target.token, target.id, `pat_${bystander.id}`, bystander.token.slice(0, -1)),
    );
    const body = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc
        .record({ token: text, token_type_hint: fc.option(fc.string({ maxLength: 20 })) })
        .map((fields) =>
          new URLSearchParams(
            Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== null),
          ).toString(),
        ),
      fc.string({ maxLength: 6000 }).map((pad) => `token=${encodeURIComponent(pad)}`),
    );
    const contentType = fc.constantFrom(
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-8',
      'application/x-www-form-urlencoded; charset=latin1',
      'application/json',
      'text/plain',
    );
    const method = fc.constantFrom('post', 'post', 'post', 'get', 'put');
    // The client's address as a proxy passes it on (`trust proxy`): an address, or any text, a token too.
    const forwarded = fc.oneof(fc.constant('203.0.113.9'), text);
    await fc.assert(
      fc.asyncProperty(method, body, contentType, forwarded, async (verb, sent, type, from) => {
        let res: request.Response;
        try {
          res = await request(app)
            [verb]('/revoke')
            .set('Content-Type', type)
            .set('X-Forwarded-For', from)
            .send(sent);
        } catch (error) {
          // Node refuses some header values (control characters) before sending: nothing was asked.
          if ((error as { code?: string }).code === 'ERR_INVALID_CHAR') return;
          throw error;
        }
        assert.ok(res.status < 500 && res.status >= 200, `status ${res.status}`);
        const seen = JSON.stringify(events);
        assert.ok(
          !seen.includes(target.token.slice(20, 60)) && !seen.includes(bystander.token.slice(20, 60)),
        );
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.ok(!res.text.includes(target.token) && !res.text.includes(bystander.token));
        const form = new URLSearchParams(sent);
        const reportedTarget =
          verb === 'post' &&
          type.startsWith('application/x-www-form-urlencoded') &&
          !type.includes('latin1') &&
          form.getAll('token').length === 1 &&
          form.get('token') === target.token &&
          sent.length < 4096;
        if (reportedTarget) {
          assert.equal(res.status, 200);
          targetRevoked = true;
        }
        assert.equal((await tokens.verify(target.token)) === null, targetRevoked);
        assert.ok(await tokens.verify(bystander.token), 'the bystander stays');
      }),
      { numRuns: 300 },
    );
  });
});
