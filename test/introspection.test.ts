// introspectionRouter(): RFC 7662 over HTTP, on the memory store and on the real Redis, each with an
// injected clock; a Redis killed under it; random requests; and curl against the CLI's serve-auth.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import express5 from 'express';
import express4 from 'express4';
import fc from 'fast-check';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { RedisTokenStore } from '../adapters/redis';
import { hasNodePermission } from '../lib/http/node-permission';
import {
  type IntrospectionRouterOptions,
  introspectionRouter,
  type TokenEvent,
  TokenService,
  type TokenStore,
  tokenRouter,
} from '../lib/index';
import { runCliInProcess } from './cli-support';
import { ownedTempDir } from './support/owned-processes';
import { connectTestRedis, deleteKeys, uniquePrefix } from './support/redis';
import { startRedis, stopAllRedis } from './support/redis-server';
import { startServeAuth, stopChild } from './support/reverse-proxy';
import { testSession } from './support/test-session';

const run = promisify(execFile);
const INACTIVE = '{"active":false}';
const CLIENTS = { 'files-api': 's3cret:with:colons', reports: 'другой секрет' };
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`, 'utf8').toString('base64')}`;
const FILES_API = basic('files-api', CLIENTS['files-api']);
const HOUR = 3_600_000;

type ExpressModule = typeof express5;

function makeApp(options: IntrospectionRouterOptions, express: ExpressModule = express5) {
  const app = express();
  app.use(introspectionRouter(options));
  return app;
}

const introspect = (app: Parameters<typeof request>[0], token: string, authorization = FILES_API) =>
  request(app).post('/introspect').set('Authorization', authorization).type('form').send({ token });

const redis = connectTestRedis();
const redisPrefix = uniquePrefix('introspect');
let redisStores = 0;
after(async () => {
  await deleteKeys(redis, redisPrefix);
  await redis.quit();
  await stopAllRedis();
});

const STORES: { name: string; make(now: () => number): TokenStore }[] = [
  { name: 'memory', make: (now) => new MemoryTokenStore({ now }) },
  {
    name: 'Redis',
    make: (now) => new RedisTokenStore(redis, { prefix: `${redisPrefix}${redisStores++}:`, now }),
  },
];

for (const store of STORES) {
  describe(`introspectionRouter (${store.name} store)`, () => {
    let time = Date.now();
    const events: TokenEvent[] = [];
    const disabled = new Set<string>();
    let tokens: TokenService;
    let app: ReturnType<typeof makeApp>;
    before(() => {
      tokens = new TokenService({
        store: store.make(() => time),
        resolveUser: (login) => (disabled.has(login) ? null : { login }),
        onEvent: (event) => void events.push(event),
      });
      app = makeApp({ tokens, clients: CLIENTS });
    });

    test('a live token: its owner, scopes and times as inspect() has them, no-store', async () => {
      const issued = await tokens.issue({
        user: 'alice',
        expiresIn: '24h',
        scopes: ['node:docs:wr', 'node:inbox:w'],
      });
      time += 60_000;
      const res = await introspect(app, issued.token).expect(200);
      const inspected = (await tokens.inspect(issued.id))!;
      assert.deepEqual(res.body, {
        active: true,
        sub: 'alice',
        username: 'alice',
        scope: inspected.scopes.join(' '),
        token_type: 'Bearer',
        exp: Math.floor(inspected.expiresAt.getTime() / 1000),
        iat: Math.floor(inspected.createdAt.getTime() / 1000),
        hard_exp: Math.floor(inspected.hardExpiresAt!.getTime() / 1000),
        jti: issued.id,
      });
      assert.equal(res.body.scope, 'node:docs:rw node:inbox:w');
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.match(res.headers['content-type']!, /^application\/json/);
      // An unscoped sliding token: an empty scope (the user's full access), no hard limit to give,
      // and its expiry now (within a second: Redis gives a sliding key's expiry by its own clock).
      const unscoped = await tokens.issue({ user: 'bob', autoRefresh: '1h' });
      const body = (await introspect(app, unscoped.token).expect(200)).body;
      assert.equal(body.scope, '');
      assert.equal(body.hard_exp, undefined);
      assert.ok(Math.abs(body.exp - Math.floor((time + HOUR) / 1000)) <= 1);
    });

    test('revoked, expired, malformed, unknown, forged, another prefix: the same bytes, {"active":false}', async () => {
      const revoked = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      await tokens.revoke(revoked.id);
      const expiring = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      const live = await tokens.issue({ user: 'alice', expiresIn: '3h' });
      const elsewhere = await new TokenService({ store: new MemoryTokenStore() }).issue({
        user: 'alice',
        expiresIn: '1h',
      });
      const otherPrefix = await new TokenService({
        store: store.make(() => time),
        tokenPrefix: 'app_',
      }).issue({ user: 'alice', expiresIn: '1h' });
      const lastChar = live.token.at(-1) === 'A' ? 'B' : 'A';
      const texts = [
        revoked.token,
        expiring.token,
        elsewhere.token,
        otherPrefix.token,
        live.token.slice(0, -1) + lastChar, // bad checksum
        live.token.slice(0, -3),
        `${live.token} `,
        'pat_',
        'x',
        `Bearer ${live.token}`,
        live.token.replace('pat_', 'PAT_'),
      ];
      time += HOUR; // `expiring` is expired now, by the injected clock
      const answers = [];
      for (const text of texts) answers.push(await introspect(app, text).expect(200));
      for (const [index, res] of answers.entries()) {
        assert.equal(res.text, INACTIVE, `text ${index}`);
        assert.equal(res.headers['content-length'], String(INACTIVE.length));
        assert.equal(res.headers['cache-control'], 'no-store');
      }
      assert.equal((await introspect(app, live.token).expect(200)).body.active, true);
    });

    test('a caller token of a user resolveUser no longer knows asks nothing', async () => {
      const target = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      const caller = await tokens.issue({ user: 'leaver', expiresIn: '1h', scopes: ['introspect'] });
      await introspect(app, target.token, `Bearer ${caller.token}`).expect(200);
      disabled.add('leaver');
      await introspect(app, target.token, `Bearer ${caller.token}`).expect(401);
    });

    test('no or wrong client credentials: 401 with the challenges, and nothing about the token', async () => {
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      const wrong = [
        undefined,
        basic('files-api', 'nope'),
        basic('files-api', `${CLIENTS['files-api']}x`),
        basic('unknown', CLIENTS['files-api']),
        basic('reports', CLIENTS['files-api']),
        basic('__proto__', 'x'),
        basic('constructor', 'x'),
        'Basic !!!',
        'Bearer !!!',
        `Bearer ${issued.token}`,
        'Digest username="files-api"',
      ];
      for (const authorization of wrong) {
        const req = request(app).post('/introspect').type('form').send({ token: issued.token });
        const res = await (authorization === undefined ? req : req.set('Authorization', authorization));
        assert.equal(res.status, 401, String(authorization));
        assert.equal(
          res.headers['www-authenticate'],
          'Basic realm="Introspection", charset="UTF-8", Bearer realm="Introspection", error="invalid_token"',
        );
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.deepEqual(res.body, { error: 'invalid_client' });
      }
      assert.equal((await introspect(app, issued.token, basic('reports', CLIENTS.reports))).status, 200);
    });

    test('a personal token asks only with the introspect scope: node scopes or full access are not enough', async () => {
      const target = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      const unscoped = await tokens.issue({ user: 'svc', expiresIn: '1h' });
      const nodeScoped = await tokens.issue({ user: 'svc', expiresIn: '1h', scopes: ['node:docs:rw'] });
      const introspector = await tokens.issue({ user: 'svc', expiresIn: '1h', scopes: ['introspect'] });
      for (const caller of [unscoped, nodeScoped]) {
        const res = await introspect(app, target.token, `Bearer ${caller.token}`);
        assert.equal(res.status, 401);
        assert.ok(res.headers['www-authenticate']);
      }
      events.length = 0;
      const res = await introspect(app, target.token, `Bearer ${introspector.token}`).expect(200);
      assert.equal(res.body.sub, 'alice');
      // The audit names the tokens by id and who asked, never a token's text.
      const introspected = events.filter((event) => event.type === 'introspected');
      assert.deepEqual(
        introspected.map(({ time: _time, ...rest }) => rest),
        [
          {
            type: 'introspected',
            tokenId: target.id,
            active: true,
            clientId: undefined,
            callerTokenId: introspector.id,
            ip: introspected[0]?.type === 'introspected' ? introspected[0].ip : 'none',
          },
        ],
      );
      assert.match(String(introspected[0]?.type === 'introspected' && introspected[0].ip), /127\.0\.0\.1$/);
      assert.doesNotMatch(JSON.stringify(events), /pat_[0-9a-f]{16}[A-Za-z0-9_-]{10}/);
      // A Basic client is named by its id.
      events.length = 0;
      await introspect(app, target.token).expect(200);
      assert.equal(events.find((event) => event.type === 'introspected')?.clientId, 'files-api');
      // introspect grants no node: the token reaches nothing but this endpoint.
      const req = { authInfo: { tokenId: introspector.id, scopes: introspector.scopes } } as never;
      assert.equal(await hasNodePermission(req, 'docs', 'r'), false);
    });

    test('a sliding token is not refreshed by introspection; with touch: true it is, as a use', async () => {
      // Redis expires keys by its own clock, which no test can inject: there, real time passes.
      const real = store.name === 'Redis';
      const service = real ? new TokenService({ store: store.make(Date.now) }) : tokens;
      const advance = async () => {
        if (real) await sleep(3100);
        else time += 30 * 60_000;
      };
      const reading = makeApp({ tokens: service, clients: CLIENTS });
      const touching = makeApp({ tokens: service, clients: CLIENTS, touch: true });
      const sliding = await service.issue({ user: 'alice', autoRefresh: '1h', expiresIn: '30d' });
      const createdExp = Math.floor(sliding.expiresAt.getTime() / 1000);
      await advance();
      const read = await introspect(reading, sliding.token).expect(200);
      // Within a second: Redis gives a key's expiry by its own clock, a few ms off the test's.
      assert.ok(Math.abs(read.body.exp - createdExp) <= 1, 'exp as it was');
      const untouched = (await service.inspect(sliding.id))!;
      assert.equal(untouched.lastUsedAt, null);
      assert.ok(Math.abs(untouched.expiresAt.getTime() - sliding.expiresAt.getTime()) < 1000);

      const used = await introspect(touching, sliding.token).expect(200);
      assert.ok(used.body.exp >= createdExp + 2, 'exp moved on with the use');
      const touched = (await service.inspect(sliding.id))!;
      assert.notEqual(touched.lastUsedAt, null);
      assert.equal(Math.floor(touched.expiresAt.getTime() / 1000), used.body.exp);
      if (real) return;
      // Reading is no use: a token past its window is expired, however often it was read meanwhile.
      time += 50 * 60_000;
      await introspect(reading, sliding.token).expect(200);
      time += 10 * 60_000 + 1;
      assert.equal((await introspect(reading, sliding.token).expect(200)).text, INACTIVE);
    });

    test('GET is 405 with Allow: POST; a 64 KiB body 413; a body without a token 400', async () => {
      for (const method of ['get', 'put', 'delete'] as const) {
        const res = await request(app)[method]('/introspect').set('Authorization', FILES_API).expect(405);
        assert.equal(res.headers.allow, 'POST');
        assert.equal(res.headers['cache-control'], 'no-store');
      }
      const big = await request(app)
        .post('/introspect')
        .set('Authorization', FILES_API)
        .type('form')
        .send(`token=${'a'.repeat(64 * 1024)}`)
        .expect(413);
      assert.doesNotMatch(big.text, /aaaa/);
      assert.equal(big.headers['cache-control'], 'no-store');
      for (const body of ['', 'token=', 'token=a&token=b', 'token_type_hint=access_token']) {
        await request(app)
          .post('/introspect')
          .set('Authorization', FILES_API)
          .type('form')
          .send(body)
          .expect(400);
      }
      // JSON is not the form RFC 7662 asks for.
      await request(app)
        .post('/introspect')
        .set('Authorization', FILES_API)
        .send({ token: 'pat_x' })
        .expect(400);
    });

    test('issueFor and the self-service router cannot grant introspect; issue() can', async () => {
      const caller = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      await assert.rejects(tokens.issueFor('alice', { expiresIn: '1h', scopes: ['introspect'] }), {
        code: 'ERR_SCOPE_BROADER_THAN_CALLER',
      });
      const callerInfo = {
        tokenId: caller.id,
        login: 'alice',
        scopes: [],
        expiresAt: caller.expiresAt,
        hardExpiresAt: caller.hardExpiresAt,
        autoRefresh: null,
      };
      await assert.rejects(
        tokens.issueFor(callerInfo, { expiresIn: '30m', scopes: ['introspect', 'node:a:r'] }),
        { code: 'ERR_SCOPE_BROADER_THAN_CALLER' },
      );
      const selfService = express5();
      selfService.use(testSession, tokenRouter({ tokens }));
      const refused = await request(selfService)
        .post('/tokens')
        .set('X-Test-Login', 'alice')
        .send({ expiresIn: '1h', scopes: ['introspect'] })
        .expect(403);
      assert.equal(refused.body.error.code, 'ERR_SCOPE_BROADER_THAN_CALLER');
      // Nor by rotating one an administrator made: the replacement would be a new grant.
      const granted = await tokens.issue({ user: 'alice', expiresIn: '1h', scopes: ['introspect'] });
      assert.deepEqual(granted.scopes, ['introspect']);
      await request(selfService)
        .post(`/tokens/${granted.id}/rotate`)
        .set('X-Test-Login', 'alice')
        .send({})
        .expect(403);
      await assert.rejects(tokens.rotate(granted.id, { caller: 'alice' }), {
        code: 'ERR_SCOPE_BROADER_THAN_CALLER',
      });
      assert.ok(await tokens.inspect(granted.id), 'the refused rotation left the token alone');
      assert.deepEqual((await tokens.rotate(granted.id))!.scopes, ['introspect']);
    });

    test('a throttle counts failed client authentications per IP: 429 once they reach the limit', async () => {
      const throttled = makeApp({ tokens, clients: CLIENTS, throttle: { maxFailures: 3, window: '1m' } });
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      await introspect(throttled, issued.token).expect(200);
      for (let i = 0; i < 3; i++) {
        await introspect(throttled, issued.token, basic('files-api', 'guess')).expect(401);
      }
      const refused = await introspect(throttled, issued.token).expect(429);
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal(refused.headers['cache-control'], 'no-store');
    });
  });
}

describe('introspectionRouter options', () => {
  const tokens = new TokenService({ store: new MemoryTokenStore() });
  test('bad clients and options are refused when the router is made', () => {
    for (const clients of [{}, { '': 'x' }, { 'a:b': 'x' }, { a: '' }, { a: 1 }, new Map(), 'a:b', 5]) {
      assert.throws(() => introspectionRouter({ tokens, clients: clients as never }), TypeError);
    }
    assert.throws(() => introspectionRouter({ tokens: {} as never }), TypeError);
    assert.throws(() => introspectionRouter({ tokens, touch: 'yes' as never }), TypeError);
    assert.throws(() => introspectionRouter({ tokens, realm: 'a"b' }), TypeError);
    assert.throws(() => introspectionRouter({ tokens, clint: CLIENTS } as never), {
      code: 'ERR_UNKNOWN_OPTION',
    });
  });

  test('clients as a Map or an async function; an unknown id is compared, and refused', async () => {
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const asked: string[] = [];
    const lookup = async (id: string) => {
      asked.push(id);
      return id === 'files-api' ? CLIENTS['files-api'] : undefined;
    };
    for (const clients of [new Map(Object.entries(CLIENTS)), lookup]) {
      const app = makeApp({ tokens, clients });
      assert.equal((await introspect(app, issued.token).expect(200)).body.sub, 'alice');
      await introspect(app, issued.token, basic('nobody', CLIENTS['files-api'])).expect(401);
    }
    assert.deepEqual(asked, ['files-api', 'nobody']);
    // Without clients, Basic is not offered, and only introspect tokens may ask.
    const tokensOnly = makeApp({ tokens });
    const res = await introspect(tokensOnly, issued.token).expect(401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="Introspection", error="invalid_token"');
  });
});

describe('introspectionRouter when Redis is down', () => {
  test('503 with Retry-After, never {"active":false}', async () => {
    const server = await startRedis();
    const client = server.client();
    const tokens = new TokenService({
      store: new RedisTokenStore(client, { prefix: 'pat:' }),
      timeout: 300,
    });
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const introspector = await tokens.issue({ user: 'svc', expiresIn: '1h', scopes: ['introspect'] });
    const app = makeApp({ tokens, clients: CLIENTS, retryAfter: 7 });
    await introspect(app, issued.token).expect(200);
    await server.kill();
    for (const authorization of [FILES_API, `Bearer ${introspector.token}`]) {
      const res = await introspect(app, issued.token, authorization);
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '7');
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.notEqual(res.body.active, false);
    }
    await server.stop();
  });
});

for (const [version, express] of [
  ['Express 5', express5],
  ['Express 4', express4],
] as const) {
  test(`property on ${version}: random bodies and headers never get a 5xx, nor the token back`, async () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h', scopes: ['node:a:r'] });
    const introspector = await tokens.issue({ user: 'svc', expiresIn: '1h', scopes: ['introspect'] });
    const app = makeApp({ tokens, clients: CLIENTS, bodyLimit: 2048 }, express);
    const secretPart = issued.token.slice(20, 60);
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom(
        issued.token,
        `${issued.token}%00`,
        encodeURIComponent(issued.token),
        'token=',
        '%',
        '&&=',
      ),
    );
    const body = fc.oneof(
      fc
        .array(fc.tuple(fc.constantFrom('token', 'token_type_hint', 'x', 'token[]', ''), text), {
          maxLength: 4,
        })
        .map((pairs) => pairs.map(([key, value]) => `${key}=${value}`).join('&')),
      text,
      fc.constant(`token=${'x'.repeat(4096)}`),
    );
    const authorization = fc.option(
      fc.oneof(
        fc.constantFrom(
          FILES_API,
          `Bearer ${introspector.token}`,
          `Bearer ${issued.token}`,
          basic('files-api', issued.token),
          basic(issued.token, 'x'),
        ),
        fc.string({ maxLength: 40 }).map((value) => `Basic ${value}`),
        fc.string({ maxLength: 40 }),
      ),
    );
    const contentType = fc.constantFrom(
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=latin1',
      'application/x-www-form-urlencoded; charset=utf-16',
      'application/json',
      'text/plain',
      'multipart/form-data',
    );
    const encoding = fc.option(fc.constantFrom('gzip', 'br', 'identity', 'x'));
    await fc.assert(
      fc.asyncProperty(
        body,
        authorization,
        contentType,
        encoding,
        async (sent, auth, type, contentEncoding) => {
          let req = request(app).post('/introspect').set('Content-Type', type);
          if (auth !== null) req = req.set('Authorization', auth);
          if (contentEncoding !== null) req = req.set('Content-Encoding', contentEncoding);
          let res: request.Response;
          try {
            res = await req.send(sent);
          } catch (error) {
            // Node refuses some header values (control characters) before sending: nothing was asked.
            if ((error as { code?: string }).code === 'ERR_INVALID_CHAR') return;
            throw error;
          }
          assert.ok(res.status < 500, `status ${res.status}`);
          assert.equal(res.headers['cache-control'], 'no-store');
          const answer = `${res.text}${JSON.stringify(res.headers)}`;
          assert.ok(!answer.includes(secretPart), 'the token is never echoed');
          assert.ok(!answer.includes(introspector.token.slice(20, 60)), 'nor the caller token');
        },
      ),
      { numRuns: 300 },
    );
  });
}

describe('personal-token serve-auth --introspection', () => {
  test('curl asks, Basic client from $PERSONAL_TOKEN_INTROSPECTION_CLIENTS; no clients is exit 2', async () => {
    const server = await startRedis();
    const tokens = new TokenService({ store: new RedisTokenStore(server.client(), { prefix: 'pat:' }) });
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h', scopes: ['node:docs:r'] });
    const cwd = ownedTempDir('serve-introspect');
    const env = { PATH: process.env.PATH, PERSONAL_TOKEN_INTROSPECTION_CLIENTS: 'go-svc:hunter2:x,py:pw' };
    const auth = await startServeAuth(['--redis', server.url], cwd, env, ['--introspection']);
    try {
      const curl = (...args: string[]) =>
        run('curl', ['-sS', '-o', '-', '-w', '\n%{http_code}', ...args, `${auth.url}/introspect`]);
      const active = await curl('-u', 'go-svc:hunter2:x', '--data-urlencode', `token=${issued.token}`);
      const [json, status] = active.stdout.split('\n');
      assert.equal(status, '200');
      const inspected = (await tokens.inspect(issued.id))!;
      assert.deepEqual(JSON.parse(json!), {
        active: true,
        sub: 'alice',
        username: 'alice',
        scope: 'node:docs:r',
        token_type: 'Bearer',
        exp: Math.floor(inspected.expiresAt.getTime() / 1000),
        iat: Math.floor(inspected.createdAt.getTime() / 1000),
        hard_exp: Math.floor(inspected.hardExpiresAt!.getTime() / 1000),
        jti: issued.id,
      });
      await tokens.revoke(issued.id);
      const inactive = await curl('-u', 'py:pw', '-d', `token=${issued.token}`);
      assert.equal(inactive.stdout, `${INACTIVE}\n200`);
      // A token the CLI made with -s introspect asks as Bearer; one without the scope may not.
      const made = await runCliInProcess(
        ['--redis', server.url, 'create', '-u', 'svc', '-e', '1h', '-s', 'introspect', '-q'],
        { env: {} },
      );
      assert.equal(made.code, 0, made.stderr);
      const bearer = `Authorization: Bearer ${made.stdout.trim()}`;
      const asked = await curl('-H', bearer, '-d', `token=${issued.token}`);
      assert.equal(asked.stdout, `${INACTIVE}\n200`);
      const plain = await runCliInProcess(['--redis', server.url, 'create', '-u', 'svc', '-e', '1h', '-q'], {
        env: {},
      });
      const notAllowed = await curl('-H', `Authorization: Bearer ${plain.stdout.trim()}`, '-d', 'token=x');
      assert.match(notAllowed.stdout, /\n401$/);
      const refused = await curl('-u', 'py:wrong', '-d', `token=${issued.token}`);
      assert.match(refused.stdout, /\n401$/);
      // Forward auth still answers beside it.
      const forward = await run('curl', [
        ...['-sS', '-o', '/dev/null', '-w', '%{http_code}'],
        ...['-H', 'X-Original-Method: GET', '-H', 'X-Original-URI: /'],
        `${auth.url}/auth`,
      ]);
      assert.equal(forward.stdout, '401');
      assert.doesNotMatch(auth.output(), /hunter2|pat_/);
    } finally {
      await stopChild(auth.child);
    }
    // No clients: a usage error, exit 2, and nothing served.
    const missing = await runCliInProcess(
      ['--redis', server.url, 'serve-auth', '--introspection', '--listen', '127.0.0.1:0'],
      { env: {} },
    );
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--introspection needs clients/);
    assert.doesNotMatch(missing.stderr, /listening/);
    const malformed = await runCliInProcess(['serve-auth', '--introspection'], {
      env: { PERSONAL_TOKEN_INTROSPECTION_CLIENTS: 'a:b,secretwithoutid' },
    });
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /entry 2 must be <client id>:<secret>/);
    assert.doesNotMatch(malformed.stderr, /secretwithoutid/);
    await server.stop();
  });
});
