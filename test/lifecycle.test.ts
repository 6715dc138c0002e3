import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import express from 'express';
import pino from 'pino';
import request from 'supertest';
import {
  BroaderThanCallerError,
  personalTokenAuth,
  pinoEventLogger,
  requireNodePermission,
  type TokenEvent,
  TokenLimitError,
  TokenService,
} from '../lib/index';
import { generateToken } from '../lib/token-format';
import { onBothStores } from './support/both-stores';
import { ancestors } from './support/node-ancestry';

onBothStores('rotation', ({ makeStore, advance }) => {
  test('the replacement keeps owner, label, scopes, window and the same hard limit', async () => {
    const tokens = new TokenService({ store: makeStore() });
    const old = await tokens.issue({
      user: 'admin',
      expiresIn: '2h',
      autoRefresh: '10m',
      label: 'ci',
      scopes: ['node:docs:r'],
    });
    await advance(300);
    const fresh = await tokens.rotate(old.id);
    assert.ok(fresh);
    assert.notEqual(fresh.id, old.id);
    assert.notEqual(fresh.token, old.token);
    assert.equal(fresh.user, 'admin');
    assert.equal(fresh.label, 'ci');
    assert.deepEqual(fresh.scopes, ['node:docs:r']);
    assert.equal(fresh.autoRefresh, 600_000);
    assert.equal(fresh.hardExpiresAt?.getTime(), old.hardExpiresAt?.getTime(), 'never a longer life');
    assert.ok(await tokens.verify(fresh.token));
    assert.equal(await tokens.verify(old.token), null, 'overlap 0: the old one stops at once');
  });

  test('with an overlap the old token works until it has passed, then is gone', async () => {
    const tokens = new TokenService({ store: makeStore() });
    const old = await tokens.issue({ user: 'admin', autoRefresh: '1h' });
    const fresh = await tokens.rotate(old.id, { overlap: 1000 });
    assert.ok(fresh && fresh.hardExpiresAt === null, 'a sliding-only token stays sliding-only');
    await advance(500);
    assert.ok(await tokens.verify(old.token), 'still works within the overlap');
    assert.ok(await tokens.verify(fresh.token));
    await advance(700);
    assert.equal(await tokens.verify(old.token), null);
    assert.ok(await tokens.verify(fresh.token));
  });

  test('rotating an unknown or revoked id is null and issues nothing', async () => {
    const tokens = new TokenService({ store: makeStore() });
    const old = await tokens.issue({ user: 'rot', expiresIn: '1h' });
    await tokens.revoke(old.id);
    assert.equal(await tokens.rotate(old.id), null);
    assert.equal(await tokens.rotate('0000000000000000'), null);
    assert.equal(await tokens.rotate('nonsense'), null);
    assert.deepEqual(await tokens.list('rot'), []);
  });
});

onBothStores('last used', ({ makeStore, advance }) => {
  test('lastUsedAt is written at most once per interval, in the same lookup; the IP only on opt-in', async () => {
    const store = makeStore();
    const plain = new TokenService({ store, touchInterval: 1000 });
    const withIp = new TokenService({ store, touchInterval: 1000, trackIp: true });
    const issued = await plain.issue({ user: 'admin', expiresIn: '1h' });
    assert.equal((await plain.inspect(issued.id))?.lastUsedAt, null);
    await plain.authenticate(issued.token, { ip: '192.0.2.1' });
    const first = (await plain.inspect(issued.id))!;
    assert.ok(first.lastUsedAt);
    assert.equal(first.lastUsedIp, null, 'no IP without trackIp');
    await advance(200);
    await withIp.authenticate(issued.token, { ip: '192.0.2.2' });
    assert.equal((await plain.inspect(issued.id))?.lastUsedAt?.getTime(), first.lastUsedAt.getTime());
    await advance(1000);
    await withIp.authenticate(issued.token, { ip: '192.0.2.3' });
    const later = (await plain.inspect(issued.id))!;
    assert.ok(later.lastUsedAt!.getTime() > first.lastUsedAt.getTime());
    assert.equal(later.lastUsedIp, '192.0.2.3');
    assert.equal((await plain.list('admin'))[0]?.lastUsedIp, '192.0.2.3');
  });

  test('the middleware records req.ip, so trust proxy applies', async () => {
    const tokens = new TokenService({ store: makeStore(), trackIp: true });
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use(personalTokenAuth({ tokens }));
    app.get('/', (_req, res) => res.send('ok'));
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    await request(app)
      .get('/')
      .set('Authorization', `Bearer ${issued.token}`)
      .set('X-Forwarded-For', '198.51.100.9')
      .expect(200);
    assert.equal((await tokens.inspect(issued.id))?.lastUsedIp, '198.51.100.9');
  });
});

onBothStores('per-user limit', ({ makeStore, advance }) => {
  test('issuing past maxTokensPerUser is a TokenLimitError; only live tokens count', async () => {
    const tokens = new TokenService({ store: makeStore(), maxTokensPerUser: 2 });
    await tokens.issue({ user: 'busy', expiresIn: '1h' });
    const shortLived = await tokens.issue({ user: 'busy', expiresIn: 800 });
    await assert.rejects(tokens.issue({ user: 'busy', expiresIn: '1h' }), (error: unknown) => {
      return error instanceof TokenLimitError && error.code === 'ERR_TOKEN_LIMIT';
    });
    assert.ok(await tokens.issue({ user: 'other', expiresIn: '1h' }), 'per user');
    await advance(1000);
    assert.equal(await tokens.inspect(shortLived.id), null);
    assert.ok(await tokens.issue({ user: 'busy', expiresIn: '1h' }), 'the expired one no longer counts');
    const revokable = await tokens.list('busy');
    await tokens.revoke(revokable[0]!.id);
    assert.ok(await tokens.issue({ user: 'busy', expiresIn: '1h' }), 'nor does a revoked one');
  });
});

onBothStores('audit events', ({ makeStore }) => {
  test('issued, authenticated, rejected (every reason), revoked, rotated, throttled — never the token', async () => {
    const events: TokenEvent[] = [];
    const disabled = new Set(['carol']);
    const tokens = new TokenService({ store: makeStore(), onEvent: (event) => void events.push(event) });
    const app = express();
    app.use(
      personalTokenAuth({
        tokens,
        resolveAncestors: ancestors,
        resolveUser: (login) => (disabled.has(login) ? null : { login }),
        throttle: { maxFailures: 50, window: '1m' },
      }),
    );
    app.get(
      '/nodes/:id',
      requireNodePermission((req) => String(req.params.id), 'r'),
      (_req, res) => res.send('ok'),
    );

    const admin = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
    const carol = await tokens.issue({ user: 'carol', expiresIn: '1h' });
    const revoked = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    await tokens.revoke(revoked.id);
    const rotated = await tokens.rotate((await tokens.issue({ user: 'admin', expiresIn: '1h' })).id);
    const typo = admin.token.slice(0, 30) + (admin.token[30] === 'a' ? 'b' : 'a') + admin.token.slice(31);
    const unknown = generateToken('pat_', { autoRefresh: null, hardExpiresAt: Date.now() + 3_600_000 }).token; // well-formed, never issued

    const get = (path: string, auth?: string) => {
      const r = request(app).get(path);
      return auth ? r.set('Authorization', auth) : r;
    };
    const basic = (login: string, token: string) =>
      `Basic ${Buffer.from(`${login}:${token}`).toString('base64')}`;
    await get('/nodes/q1', `Bearer ${admin.token}`).expect(200);
    await get('/nodes/notes', `Bearer ${admin.token}`).expect(403);
    await get('/nodes/q1', 'Bearer pat_short').expect(401);
    await get('/nodes/q1', `Bearer ${typo}`).expect(401);
    await get('/nodes/q1', `Bearer ${unknown}`).expect(401);
    await get('/nodes/q1', `Bearer ${revoked.token}`).expect(401);
    await get('/nodes/q1', basic('bob', admin.token)).expect(401);
    await get('/nodes/q1', `Bearer ${carol.token}`).expect(401);
    await get('/nodes/q1', 'Basic %%%').expect(400);

    const types = events.map((e) => e.type);
    for (const type of ['issued', 'authenticated', 'rejected', 'revoked', 'rotated'])
      assert.ok(types.includes(type as never), type);
    const reasons = events.flatMap((e) => (e.type === 'rejected' ? [e.reason] : []));
    assert.deepEqual(reasons, [
      'insufficient_scope',
      'malformed',
      'bad_checksum',
      'unknown',
      'revoked',
      'user_mismatch',
      'user_disabled',
      'malformed',
    ]);
    const authenticated = events.find((e) => e.type === 'authenticated');
    assert.equal(authenticated?.type === 'authenticated' && authenticated.tokenId, admin.id);
    assert.ok(authenticated?.type === 'authenticated' && authenticated.ip);
    const rotation = events.find((e) => e.type === 'rotated');
    assert.equal(rotation?.type === 'rotated' && rotation.newTokenId, rotated?.id);
    assert.ok(events.every((e) => e.time instanceof Date));

    const text = JSON.stringify(events);
    for (const t of [admin, carol, revoked, rotated!]) {
      assert.ok(!text.includes(t.token), 'no token in any event');
      assert.ok(!text.includes(t.token.slice(20, 63)), 'nor its secret');
    }
  });

  test('a listener that throws never breaks authentication', async () => {
    const tokens = new TokenService({
      store: makeStore(),
      onEvent: () => {
        throw new Error('audit sink down');
      },
    });
    const app = express();
    app.use(personalTokenAuth({ tokens, onEvent: async () => Promise.reject(new Error('also down')) }));
    app.get('/', (_req, res) => res.send('ok'));
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    await request(app).get('/').set('Authorization', `Bearer ${issued.token}`).expect(200);
    await tokens.revoke(issued.id);
  });

  test('pinoEventLogger writes events as pino lines, rejections at warn', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    const tokens = new TokenService({ store: makeStore(), onEvent: pinoEventLogger(logger) });
    const app = express();
    app.use(personalTokenAuth({ tokens }));
    app.get('/', (_req, res) => res.send('ok'));
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    await request(app).get('/').set('Authorization', `Bearer ${issued.token}`).expect(200);
    await request(app).get('/').set('Authorization', 'Bearer pat_nope').expect(401);
    await tokens.revoke(issued.id);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      lines.map((l) => [l.event, l.level]),
      [
        ['issued', 30],
        ['authenticated', 20],
        ['rejected', 40],
        ['revoked', 30],
      ],
    );
    assert.equal(lines[2]?.reason, 'malformed');
    assert.ok(!JSON.stringify(lines).includes(issued.token));
  });
});

onBothStores('failed-auth throttling', ({ makeStore, advance }) => {
  test('after maxFailures from one IP within the window: 429 + Retry-After, no lookup, until the window passes', async () => {
    const store = makeStore();
    let lookups = 0;
    const verify = store.verify.bind(store);
    store.verify = (...args) => {
      lookups++;
      return verify(...args);
    };
    const tokens = new TokenService({ store });
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use(personalTokenAuth({ tokens, throttle: { maxFailures: 3, window: 1500 } }));
    app.get('/', (_req, res) => res.send('ok'));
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const from = (ip: string, auth: string) =>
      request(app).get('/').set('X-Forwarded-For', ip).set('Authorization', auth);
    const wrong = `${issued.token.slice(0, 4)}0000000000000000${issued.token.slice(20)}`;

    await from('203.0.113.1', `Bearer ${wrong}`).expect(401);
    await from('203.0.113.1', 'Bearer pat_bad').expect(401);
    await from('203.0.113.1', 'Basic %%%').expect(400);
    lookups = 0;
    const blocked = await from('203.0.113.1', `Bearer ${issued.token}`).expect(429);
    assert.ok(Number(blocked.headers['retry-after']) >= 1 && Number(blocked.headers['retry-after']) <= 2);
    assert.deepEqual(blocked.body, { error: 'too_many_requests' });
    assert.equal(lookups, 0, 'no token lookup for a throttled IP');
    await from('203.0.113.2', `Bearer ${issued.token}`).expect(200);
    await from('203.0.113.2', `Bearer ${wrong}`).expect(401);
    // Another IP is not affected.
    await from('203.0.113.2', `Bearer ${issued.token}`).expect(200);

    await advance(1600);
    await from('203.0.113.1', `Bearer ${issued.token}`).expect(200);
  });

  test('successes and requests without credentials do not count', async () => {
    const tokens = new TokenService({ store: makeStore() });
    const app = express();
    app.use(personalTokenAuth({ tokens, throttle: { maxFailures: 2, window: '1m' } }));
    app.get('/', (_req, res) => res.send('ok'));
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    for (let i = 0; i < 5; i++) {
      await request(app).get('/').expect(401);
      await request(app).get('/').set('Authorization', `Bearer ${issued.token}`).expect(200);
    }
  });

  test('bad throttle options are TypeErrors', () => {
    const tokens = new TokenService({ store: makeStore() });
    assert.throws(() => personalTokenAuth({ tokens, throttle: { maxFailures: 0, window: '1m' } }), TypeError);
    assert.throws(() => personalTokenAuth({ tokens, throttle: { maxFailures: 3, window: '1.5m' } }));
  });
});

onBothStores('issueFor: scoped tokens stay narrow', ({ makeStore }) => {
  function appFor(tokens: TokenService) {
    const app = express();
    app.use(express.json());
    app.use(personalTokenAuth({ tokens, resolveAncestors: ancestors }));
    app.post('/tokens', async (req, res) => {
      try {
        const issued = await tokens.issueFor(req.authInfo!, { ...req.body, resolveAncestors: ancestors });
        res.json({
          id: issued.id,
          scopes: issued.scopes,
          hardExpiresAt: issued.hardExpiresAt,
          token: issued.token,
        });
      } catch (error) {
        res.status(400).json({ code: (error as { code?: string }).code });
      }
    });
    return app;
  }

  test('same node or below, no permission the caller lacks, no later hard limit', async () => {
    const tokens = new TokenService({ store: makeStore() });
    const app = appFor(tokens);
    const caller = await tokens.issue({
      user: 'admin',
      expiresIn: '2h',
      scopes: ['node:docs:r', 'node:reports:w'],
    });
    const post = (body: object) =>
      request(app).post('/tokens').set('Authorization', `Bearer ${caller.token}`).send(body);

    const ok = await post({ expiresIn: '1h', scopes: ['node:q1:rw'] }).expect(200);
    assert.deepEqual(ok.body.scopes, ['node:q1:rw'], 'r from docs + w from reports cover q1');
    await post({ expiresIn: '1h', scopes: ['node:docs:r'] }).expect(200);
    const tokenOfChild = (await post({ expiresIn: '1h', scopes: ['node:reports:r'] }).expect(200)).body.token;
    assert.ok(await tokens.verify(tokenOfChild));

    const refusals: [object, string][] = [
      [{ expiresIn: '1h', scopes: ['node:docs:rw'] }, 'ERR_SCOPE_BROADER_THAN_CALLER'],
      [{ expiresIn: '1h', scopes: ['node:root:r'] }, 'ERR_SCOPE_BROADER_THAN_CALLER'],
      [{ expiresIn: '1h', scopes: ['node:notes:r'] }, 'ERR_SCOPE_BROADER_THAN_CALLER'],
      [{ expiresIn: '1h' }, 'ERR_SCOPE_BROADER_THAN_CALLER'],
      [{ expiresIn: '3h', scopes: ['node:docs:r'] }, 'ERR_EXPIRY_LATER_THAN_CALLER'],
      [{ autoRefresh: '10m', scopes: ['node:docs:r'] }, 'ERR_EXPIRY_LATER_THAN_CALLER'],
    ];
    for (const [body, code] of refusals) {
      const res = await post(body).expect(400);
      assert.equal(res.body.code, code, JSON.stringify(body));
    }
  });

  test('an unscoped caller may issue any scope; the user is the caller', async () => {
    const tokens = new TokenService({ store: makeStore() });
    const caller = await tokens.issue({ user: 'alice', autoRefresh: '10m' });
    const res = await request(appFor(tokens))
      .post('/tokens')
      .set('Authorization', `Bearer ${caller.token}`)
      .send({ autoRefresh: '10m', scopes: ['node:root:rw'] })
      .expect(200);
    assert.equal((await tokens.inspect(res.body.id))?.user, 'alice');
  });

  test('without an authenticated user it is an error', async () => {
    const tokens = new TokenService({ store: makeStore() });
    await assert.rejects(tokens.issueFor({}, { expiresIn: '1h' }), (error: unknown) => {
      return (error as { code?: string }).code === 'ERR_INVALID_TOKEN_OPTIONS';
    });
    // The request itself is not the caller: its token, if any, would escape its bounds.
    const req = { headers: {}, authInfo: {} } as unknown as Parameters<typeof tokens.issueFor>[0];
    await assert.rejects(tokens.issueFor(req, { user: 'ann', expiresIn: '1h' }), TypeError);
    assert.ok(BroaderThanCallerError);
  });
});
