// The failed-authentication throttle: never more than `maxFailures` failing token lookups per
// window per client IP, whatever the concurrency, on both stores and across app instances.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import fc from 'fast-check';
import { MemoryTokenStore } from '../adapters/memory';
import { RedisTokenStore } from '../adapters/redis';
import {
  personalTokenAuth,
  type ThrottleOptions,
  type TokenEvent,
  TokenService,
  type TokenStore,
} from '../lib/index';
import { generateToken } from '../lib/token-format';
import { onBothStores } from './support/both-stores';
import { connectTestRedis, deleteKeys, uniquePrefix } from './support/redis';
import { monitorTestRedis } from './support/redis-monitor';

/** The token lookups a store saw: the id looked up and the client IP the service passed on. */
type Lookups = { id: string; ip: string | undefined }[];

/**
 * The store, each call of it delayed by `ms` (so that concurrent requests overlap in it, as they do
 * with a store across a network), with every token lookup written down.
 */
function slowStore<Store extends TokenStore>(store: Store, lookups: Lookups, ms: number): Store {
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property === 'now') return value.bind(target);
      return async (...args: unknown[]) => {
        await sleep(ms);
        if (property === 'verify') {
          lookups.push({ id: args[0] as string, ip: (args[2] as { ip?: string } | undefined)?.ip });
        }
        return value.apply(target, args);
      };
    },
  });
}

interface App {
  url: string;
  close(): Promise<void>;
}

/** An app behind the throttled middleware, trusting X-Forwarded-For from loopback to tell clients apart. */
async function startApp(
  tokens: TokenService,
  throttle: ThrottleOptions | undefined,
  extra: Parameters<typeof personalTokenAuth>[0] = {},
): Promise<App> {
  const app = express();
  app.set('trust proxy', 'loopback');
  app.use(personalTokenAuth({ tokens, throttle, ...extra }));
  app.get('/', (_req, res) => res.send('ok'));
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Answer {
  status: number;
  retryAfter: number | null;
}

async function send(app: App, ip: string, authorization?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'X-Forwarded-For': ip };
  if (authorization !== undefined) headers.Authorization = authorization;
  const res = await fetch(`${app.url}/`, { headers });
  await res.arrayBuffer();
  const retryAfter = res.headers.get('retry-after');
  return { status: res.status, retryAfter: retryAfter === null ? null : Number(retryAfter) };
}

/** A well-formed token that was never issued: it passes every check but the lookup, as a guess does. */
function guess(tokens: TokenService): string {
  return `Bearer ${generateToken('pat_', { autoRefresh: null, hardExpiresAt: tokens.now() + 3_600_000 }).token}`;
}

const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status).length;

onBothStores('throttle', ({ name, makeStore, advance }) => {
  test('300 concurrent guesses with maxFailures 5: at most 5 lookups, every other answer 429', async () => {
    const lookups: Lookups = [];
    // A deadline no loaded machine reaches: a check that missed it would give its place back (no
    // failure of the client's), and the next attempt would look up again, beyond what this counts.
    const tokens = new TokenService({ store: slowStore(makeStore(), lookups, 5), timeout: 60_000 });
    const app = await startApp(tokens, { maxFailures: 5, window: '1m' });
    try {
      const answers = await Promise.all(
        Array.from({ length: 300 }, () => send(app, '203.0.113.7', guess(tokens))),
      );
      // Exactly the limit: the first five reservations are granted, and each becomes a failure.
      assert.equal(lookups.length, 5, `${lookups.length} lookups`);
      assert.equal(count(answers, 401), lookups.length, 'a 401 for each lookup');
      assert.equal(count(answers, 429), 300 - lookups.length, 'every other answer is 429');
      assert.ok(answers.every((a) => a.status === 401 || (a.retryAfter !== null && a.retryAfter >= 1)));

      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const blocked = await send(app, '203.0.113.7', `Bearer ${issued.token}`);
      assert.equal(blocked.status, 429, 'blocked for the window, even with a valid token');
      assert.ok(blocked.retryAfter! > 1 && blocked.retryAfter! <= 60);
      assert.equal(
        (await send(app, '203.0.113.8', `Bearer ${issued.token}`)).status,
        200,
        'other IPs are not',
      );
    } finally {
      await app.close();
    }
  });

  test('successes never count; a valid token works after failures below the limit; the window ends', async () => {
    const lookups: Lookups = [];
    const tokens = new TokenService({ store: slowStore(makeStore(), lookups, 1) });
    // Short, for the real wait on Redis; far longer than the requests below take.
    const app = await startApp(tokens, { maxFailures: 3, window: 3000 });
    try {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const good = `Bearer ${issued.token}`;
      const ip = '203.0.113.20';
      for (let i = 0; i < 10; i++) assert.equal((await send(app, ip, good)).status, 200);
      assert.equal((await send(app, ip, guess(tokens))).status, 401);
      assert.equal((await send(app, ip, guess(tokens))).status, 401);
      for (let i = 0; i < 5; i++) assert.equal((await send(app, ip, good)).status, 200, 'below the limit');
      // One place left: the three take turns in it.
      const concurrent = await Promise.all([send(app, ip, good), send(app, ip, good), send(app, ip, good)]);
      assert.equal(count(concurrent, 200), 3, 'more parallel requests than places wait for one');

      assert.equal((await send(app, ip, guess(tokens))).status, 401, 'the third failure');
      const before = lookups.length;
      const blocked = await send(app, ip, good);
      assert.equal(blocked.status, 429);
      assert.ok(blocked.retryAfter! >= 1 && blocked.retryAfter! <= 3);
      assert.equal((await send(app, ip, guess(tokens))).status, 429);
      assert.equal(lookups.length, before, 'no lookup for a blocked IP');

      await advance(3100);
      assert.equal((await send(app, ip, good)).status, 200, 'a new window');
      assert.equal((await send(app, ip, guess(tokens))).status, 401);
    } finally {
      await app.close();
    }
  });

  test('a valid token with more parallel requests than maxFailures waits for a place, never refused', async () => {
    const lookups: Lookups = [];
    // A deadline far above what a busy machine needs: how long an attempt may wait for a place.
    const tokens = new TokenService({ store: slowStore(makeStore(), lookups, 2), timeout: 60_000 });
    const app = await startApp(tokens, { maxFailures: 5, window: '1m' });
    try {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const ip = '203.0.113.25';
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all(
          Array.from({ length: 24 }, () => send(app, ip, `Bearer ${issued.token}`)),
        );
        assert.deepEqual(
          answers.filter((a) => a.status !== 200),
          [],
          `round ${round}: 24 parallel requests, 5 places`,
        );
      }
      assert.equal(lookups.length, 5 * 24);
      // The places are all given back: guesses still get exactly the limit.
      const guesses = await Promise.all(Array.from({ length: 30 }, () => send(app, ip, guess(tokens))));
      assert.equal(count(guesses, 401), 5);
      assert.equal(count(guesses, 429), 25);
    } finally {
      await app.close();
    }
  });

  test('requests without credentials never count nor are refused; malformed ones count', async () => {
    const lookups: Lookups = [];
    const store = makeStore();
    let reservations = 0;
    const reserve = store.reserveAttempt!.bind(store);
    store.reserveAttempt = (...args) => {
      reservations++;
      return reserve(...args);
    };
    const tokens = new TokenService({ store: slowStore(store, lookups, 1) });
    const app = await startApp(tokens, { maxFailures: 2, window: '1m' });
    const optionalApp = await startApp(tokens, { maxFailures: 2, window: '1m' }, { optional: true });
    try {
      const ip = '203.0.113.30';
      for (let i = 0; i < 5; i++) assert.equal((await send(app, ip)).status, 401);
      assert.equal(reservations, 0, 'nothing to check, nothing reserved');
      assert.equal((await send(app, ip, 'Basic %%%')).status, 400);
      assert.equal((await send(app, ip, 'Bearer a b')).status, 400);
      assert.equal((await send(app, ip, guess(tokens))).status, 429, 'two malformed attempts made the limit');
      assert.equal(lookups.length, 0);
      assert.equal((await send(app, ip)).status, 401, 'no credentials: not refused as throttled');
      assert.equal((await send(optionalApp, ip)).status, 200);
      // A scheme the middleware does not take is not an attempt either.
      const bearerOnly = await startApp(tokens, { maxFailures: 2, window: '1m' }, { schemes: ['bearer'] });
      try {
        assert.equal((await send(bearerOnly, ip, 'Basic %%%')).status, 401);
      } finally {
        await bearerOnly.close();
      }
    } finally {
      await app.close();
      await optionalApp.close();
    }
  });

  test('a store that cannot reserve fails closed: 503, no lookup', async () => {
    const lookups: Lookups = [];
    const store = makeStore();
    store.reserveAttempt = () => Promise.reject(new Error('store down'));
    const tokens = new TokenService({ store: slowStore(store, lookups, 1) });
    const app = await startApp(tokens, { maxFailures: 5, window: '1m' });
    try {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      for (const authorization of [`Bearer ${issued.token}`, guess(tokens), 'Basic %%%']) {
        const answer = await send(app, '203.0.113.40', authorization);
        assert.equal(answer.status, 503);
        assert.equal(answer.retryAfter, 1);
      }
      assert.equal(lookups.length, 0);
    } finally {
      await app.close();
    }
  });

  test('the throttled event carries the IP and Retry-After, never the token', async () => {
    const events: TokenEvent[] = [];
    const tokens = new TokenService({ store: makeStore(), onEvent: (event) => void events.push(event) });
    const app = await startApp(tokens, { maxFailures: 1, window: '1m' });
    try {
      const token = guess(tokens);
      assert.equal((await send(app, '203.0.113.50', token)).status, 401);
      assert.equal((await send(app, '203.0.113.50', token)).status, 429);
      const throttled = events.filter((e) => e.type === 'throttled');
      assert.equal(throttled.length, 1);
      assert.ok(throttled[0]?.type === 'throttled' && throttled[0].ip === '203.0.113.50');
      assert.ok(throttled[0]?.type === 'throttled' && throttled[0].retryAfter >= 59);
      assert.ok(!JSON.stringify(events).includes(token.slice(7 + 20)));
    } finally {
      await app.close();
    }
  });

  if (name === 'memory') {
    test('a release that fails: the answer stands, and the attempt counts until its window ends', async () => {
      const store = makeStore();
      store.releaseAttempt = () => Promise.reject(new Error('store down'));
      store.failAttempt = () => Promise.reject(new Error('store down'));
      const tokens = new TokenService({ store });
      const app = await startApp(tokens, { maxFailures: 2, window: '1m' });
      try {
        const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
        const good = `Bearer ${issued.token}`;
        assert.equal((await send(app, '203.0.113.60', good)).status, 200);
        assert.equal((await send(app, '203.0.113.60', guess(tokens))).status, 401);
        const refused = await send(app, '203.0.113.60', good);
        assert.deepEqual(refused, { status: 429, retryAfter: 1 }, 'two attempts never released');
        await advance(60_000);
        assert.equal((await send(app, '203.0.113.60', good)).status, 200);
      } finally {
        await app.close();
      }
    });
  }

  test('a store without reserveAttempt, releaseAttempt and failAttempt cannot throttle: TypeError', () => {
    const store = makeStore();
    const partial: TokenStore = {
      create: (token, options) => store.create(token, options),
      verify: (id, hash, plan) => store.verify(id, hash, plan),
      get: (id) => store.get(id),
      listPage: (user, page) => store.listPage(user, page),
      delete: (id, until) => store.delete(id, until),
      limit: (id, at) => store.limit(id, at),
    };
    const tokens = new TokenService({ store: partial });
    assert.throws(() => personalTokenAuth({ tokens, throttle: { maxFailures: 3, window: '1m' } }), TypeError);
    assert.doesNotThrow(() => personalTokenAuth({ tokens }));
  });
});

describe('throttle: three app instances sharing one Redis', () => {
  const prefix = uniquePrefix('throttle-shared');
  const clients = [connectTestRedis(), connectTestRedis(), connectTestRedis()];
  after(async () => {
    await deleteKeys(clients[0]!, prefix);
    await Promise.all(clients.map((client) => client.quit()));
  });

  test('300 concurrent guesses spread over 3 instances: at most 5 lookups, by wrapper and by MONITOR', async () => {
    const lookups: Lookups = [];
    const services = clients.map(
      // A deadline no loaded machine reaches (see the single-instance case).
      (client) =>
        new TokenService({
          store: slowStore(new RedisTokenStore(client, { prefix }), lookups, 5),
          timeout: 60_000,
        }),
    );
    const apps = await Promise.all(
      services.map((tokens) => startApp(tokens, { maxFailures: 5, window: '1m' })),
    );
    const monitor = await monitorTestRedis();
    try {
      const answers = await Promise.all(
        Array.from({ length: 300 }, (_, i) => send(apps[i % 3]!, '203.0.113.70', guess(services[0]!))),
      );
      for (const client of clients) await monitor.settle(client);
      const reads = monitor.commands.filter(
        (c) => ['get', 'getex'].includes(c.args[0]!.toLowerCase()) && c.args[1]?.startsWith(`${prefix}t:`),
      );
      assert.equal(lookups.length, 5, `${lookups.length} lookups`);
      assert.equal(reads.length, lookups.length, 'Redis saw exactly the lookups the wrappers saw');
      assert.equal(count(answers, 401), lookups.length);
      assert.equal(count(answers, 429), 300 - lookups.length);
    } finally {
      monitor.stop();
      await Promise.all(apps.map((app) => app.close()));
    }
  });
});

describe('throttle: what it costs a successful request on Redis', () => {
  const prefix = uniquePrefix('throttle-cost');
  const client = connectTestRedis();
  after(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });

  test('two commands more: the reservation and its release', async (t) => {
    const tokens = new TokenService({ store: new RedisTokenStore(client, { prefix }) });
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const apps = {
      off: await startApp(tokens, undefined),
      on: await startApp(tokens, { maxFailures: 5, window: '1m' }),
    };
    const monitor = await monitorTestRedis();
    try {
      const perRequest: Record<string, { client: number; lua: number }> = {};
      for (const [name, app] of Object.entries(apps)) {
        await send(app, '203.0.113.90', `Bearer ${issued.token}`); // the first use writes lastUsedAt
        await monitor.settle(client);
        const from = monitor.commands.length;
        for (let i = 0; i < 10; i++) {
          assert.equal((await send(app, '203.0.113.90', `Bearer ${issued.token}`)).status, 200);
        }
        await monitor.settle(client);
        const mine = monitor.commands.slice(from).filter((c) => c.line.includes(prefix));
        perRequest[name] = {
          client: mine.filter((c) => c.source !== 'lua').length / 10,
          lua: mine.filter((c) => c.source === 'lua').length / 10,
        };
      }
      t.diagnostic(`commands per successful request: ${JSON.stringify(perRequest)}`);
      assert.deepEqual(perRequest.off, { client: 1, lua: 0 }, 'one GET');
      assert.equal(perRequest.on!.client, 3, 'EVALSHA (reserve), GET, ZREM (release)');
    } finally {
      monitor.stop();
      await Promise.all(Object.values(apps).map((app) => app.close()));
    }
  });
});

/** One request of the property below: from which of a few IPs, with a good or a guessed token. */
const requestArbitrary = fc.record({ ip: fc.integer({ min: 0, max: 2 }), good: fc.boolean() });

/**
 * Random waves of good and bad requests from a few IPs, each wave's requests at once, the clock
 * moved between waves (when the store's clock can be): failing lookups per IP per window never
 * exceed maxFailures, and a lone request of an IP below the limit is always checked.
 */
async function checkThrottleProperty(
  makeStore: (now: () => number) => TokenStore,
  clockSteps: boolean,
  numRuns: number,
): Promise<void> {
  const window = 10_000;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(
        fc.record({
          step: clockSteps ? fc.integer({ min: 0, max: window }) : fc.constant(0),
          requests: fc.array(requestArbitrary, { minLength: 1, maxLength: 12 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      async (maxFailures, waves) => {
        let time = Date.now();
        const lookups: Lookups = [];
        const tokens = new TokenService({
          store: slowStore(
            makeStore(() => time),
            lookups,
            2,
          ),
          trackIp: true,
        });
        const app = await startApp(tokens, { maxFailures, window });
        try {
          const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
          const ips = ['198.51.100.1', '198.51.100.2', '198.51.100.3'];
          // The model: each IP's failures in its current window, which starts with its first failure.
          const failures = ips.map(() => ({ count: 0, windowEnd: Number.POSITIVE_INFINITY }));
          for (const wave of waves) {
            time += wave.step;
            for (const model of failures) {
              if (time >= model.windowEnd)
                Object.assign(model, { count: 0, windowEnd: Number.POSITIVE_INFINITY });
            }
            const before = lookups.length;
            const answers = await Promise.all(
              wave.requests.map((r) =>
                send(app, ips[r.ip]!, r.good ? `Bearer ${issued.token}` : guess(tokens)),
              ),
            );
            const failed = lookups.slice(before).filter((lookup) => lookup.id !== issued.id);
            for (const [i, ip] of ips.entries()) {
              const mine = wave.requests.flatMap((r, j) =>
                r.ip === i ? [{ ...r, answer: answers[j]! }] : [],
              );
              const bad = failed.filter((lookup) => lookup.ip === ip).length;
              assert.equal(
                bad,
                mine.filter((r) => r.answer.status === 401).length,
                'a 401 per failed lookup',
              );
              const model = failures[i]!;
              if (bad > 0 && model.count === 0) model.windowEnd = time + window;
              model.count += bad;
              assert.ok(model.count <= maxFailures, `${model.count} failed lookups for ${ip}`);
              for (const r of mine) assert.ok([r.good ? 200 : 401, 429].includes(r.answer.status));
              // Never refused for nothing: a lone request below the limit is checked.
              if (mine.length === 1 && model.count - bad < maxFailures) {
                assert.equal(mine[0]!.answer.status, mine[0]!.good ? 200 : 401);
              }
            }
          }
        } finally {
          await app.close();
        }
      },
    ),
    { numRuns },
  );
}

describe('throttle: property', () => {
  test('memory store, the clock moving between waves (60 runs)', async () => {
    await checkThrottleProperty((now) => new MemoryTokenStore({ now }), true, 60);
  });

  describe('Redis store, within one window (25 runs)', () => {
    const prefix = uniquePrefix('throttle-property');
    const client = connectTestRedis();
    let runs = 0;
    after(async () => {
      await deleteKeys(client, prefix);
      await client.quit();
    });
    test('failing lookups per IP ≤ maxFailures', async () => {
      await checkThrottleProperty(
        () => new RedisTokenStore(client, { prefix: `${prefix}${runs++}:` }),
        false,
        25,
      );
    });
  });
});
