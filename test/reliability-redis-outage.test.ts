// Redis faults under steady load, through personalTokenAuth() with no options (its own Redis client
// at $REDIS_URL, the configuration most apps run): a killed Redis and a frozen (SIGSTOPped) one.
// An authentication layer must fail closed and fast: every request gets 503 + Retry-After within the
// timeout (plus a margin for a busy machine), never 200 and never 500; the Node process must not
// queue commands without bound; and once Redis is back, requests succeed again within about a second
// without restarting the app.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { RedisTokenStore } from '../adapters/redis';
import { type PersonalTokenAuthMiddleware, personalTokenAuth } from '../lib/index';
import { type AuthServer, startAuthServer } from './support/auth-server';
import { watchStalls } from './support/event-loop-stalls';
import { SETTLED_REQUESTS } from './support/failover-load';
import { bearer, httpGet, type LoadSample, startLoad } from './support/http-load';
import { type RedisServer, startRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

/** The library's default per-call timeout (TokenService `timeout`). */
const TIMEOUT_MS = 1000;
/** Head room over the timeout for a loaded 2-core CI machine; far below "hanging". */
const MARGIN_MS = 750;
const OUTAGE_MS = 4000;
/** Steady request rate of the load (open loop: it does not slow down when the server does). */
const RATE = 150;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface QueueProbe {
  max: number;
  stop(): void;
}

/**
 * How many commands the ioredis client holds (offline queue + sent-but-unanswered). These are
 * ioredis internals, read only to prove that nothing piles up during an outage.
 */
function probeQueues(client: Redis): QueueProbe {
  const queues = client as unknown as { offlineQueue: { length: number }; commandQueue: { length: number } };
  const probe = {
    max: 0,
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    probe.max = Math.max(probe.max, queues.offlineQueue.length + queues.commandQueue.length);
  }, 20);
  return probe;
}

function summarise(samples: LoadSample[]) {
  const counts: Record<string, number> = {};
  for (const sample of samples) counts[sample.status] = (counts[sample.status] ?? 0) + 1;
  const latencies = samples.map((sample) => sample.end - sample.start).sort((a, b) => a - b);
  return {
    requests: samples.length,
    counts,
    p50: Math.round(latencies[Math.floor(latencies.length / 2)] ?? 0),
    max: Math.round(latencies.at(-1) ?? 0),
  };
}

describe('Redis outage under load, personalTokenAuth() defaults', () => {
  let redis: RedisServer;
  let auth: PersonalTokenAuthMiddleware;
  let app: AuthServer;
  let token: string;
  const loggedErrors: string[] = [];
  const originalConsoleError = console.error;

  before(async () => {
    // With AOF, so the token is still there after the restart (see the persistence tests below).
    redis = await startRedis({ aof: true });
    // The default service reads $REDIS_URL when it is created.
    const previousUrl = process.env.REDIS_URL;
    process.env.REDIS_URL = redis.url;
    try {
      auth = personalTokenAuth();
    } finally {
      if (previousUrl === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = previousUrl;
    }
    // The default client reports an outage on stderr; keep it for the hygiene check below.
    console.error = (...args: unknown[]) => {
      loggedErrors.push(args.map(String).join(' '));
    };
    app = await startAuthServer(auth);
    token = (await auth.tokens.issue({ user: 'alice', autoRefresh: '10m' })).token;
  });

  after(async () => {
    console.error = originalConsoleError;
    await app?.close();
    await auth?.tokens.close();
    await redis?.stop();
  });

  async function outage(fault: { begin(): Promise<void> | void; end(): Promise<void> | void }) {
    const client = (auth.tokens.store as RedisTokenStore).client as Redis;
    assert.equal((await httpGet(`${app.url}/whoami`, bearer(token))).status, 200);
    const load = startLoad({
      url: `${app.url}/whoami`,
      ratePerSecond: RATE,
      next: () => ({ headers: bearer(token), tag: 'alice' }),
    });
    const stalls = watchStalls();
    const heapBefore = process.memoryUsage().heapUsed;
    await delay(800);
    const queues = probeQueues(client);
    await fault.begin();
    const faultStarted = performance.now();
    await delay(OUTAGE_MS);
    const faultEnding = performance.now();
    await fault.end();
    const redisBack = performance.now();
    // On until the last requests were all answered: a count, not a time, so that a busy machine's
    // slower reconnection is no failure (the time it took is reported).
    const answered = () => {
      const last = load.samples.slice(-SETTLED_REQUESTS);
      return last.length === SETTLED_REQUESTS && last.every((sample) => sample.status === 200);
    };
    await delay(1500);
    while (!answered() && performance.now() - redisBack < 60_000) await delay(100);
    const samples = await load.stop();
    queues.stop();
    stalls.stop();
    const heapAfter = process.memoryUsage().heapUsed;

    // Answered while Redis could not answer: those must all be refusals. (A request sent during a
    // SIGSTOP may rightly succeed if it is answered after SIGCONT, within its timeout.)
    const during = samples.filter((s) => s.start >= faultStarted && s.end < faultEnding);
    const lastUnavailable = samples.filter((s) => s.status === 503).at(-1);
    const afterRecovery = samples.filter((s) => s.start >= (lastUnavailable?.end ?? redisBack));
    const firstSuccess = samples.find((s) => s.start >= redisBack && s.status === 200);
    const report = {
      all: summarise(samples),
      during: summarise(during),
      maxQueuedCommands: queues.max,
      firstSuccessAfterBackMs: firstSuccess ? Math.round(firstSuccess.end - redisBack) : null,
      heapDeltaMB: Math.round((heapAfter - heapBefore) / 1e5) / 10,
      longestStallMs: Math.round(stalls.longest),
    };

    // Fail closed, with the right answer, in bounded time.
    const unexpected = samples.filter((s) => s.status !== 200 && s.status !== 503);
    assert.deepEqual(
      unexpected.map((s) => s.status),
      [],
      `only 200 or 503 (${JSON.stringify(report)})`,
    );
    for (const s of samples.filter((sample) => sample.status === 503)) {
      assert.equal(s.headers['retry-after'], '1', 'a 503 tells the client when to retry');
      assert.deepEqual(JSON.parse(s.body), { error: 'temporarily_unavailable' });
    }
    assert.ok(during.length > RATE, `load kept going during the outage (${JSON.stringify(report)})`);
    assert.deepEqual(
      during.filter((s) => s.status !== 503).map((s) => s.status),
      [],
      'nothing is let through while Redis cannot answer',
    );
    // Net of the time this process was not running at all (a starved CI machine): then nothing
    // could answer, whatever the library did.
    const netLatency = (s: LoadSample) => s.end - s.start - stalls.stalledDuring(s.start, s.end);
    const slow = samples.filter((s) => netLatency(s) > TIMEOUT_MS + MARGIN_MS);
    assert.deepEqual(
      slow.map((s) => Math.round(netLatency(s))),
      [],
      `every answer within ${TIMEOUT_MS} + ${MARGIN_MS} ms (${JSON.stringify(report)})`,
    );
    // Back without restarting the app, and for good: once answers came back, every later request
    // succeeded.
    assert.ok(
      afterRecovery.length >= SETTLED_REQUESTS,
      `${SETTLED_REQUESTS} requests in a row succeed once Redis is back (${JSON.stringify(report)})`,
    );
    assert.deepEqual(
      afterRecovery.filter((s) => s.status !== 200).map((s) => s.status),
      [],
      `every request after Redis came back succeeds (${JSON.stringify(report)})`,
    );
    // Nothing queues for the whole outage: an unbounded queue would hold every command sent during
    // it; a bounded one holds at most what about two seconds of traffic brings.
    assert.ok(
      queues.max <= 2 * RATE,
      `at most ~2 s of commands queued: ${queues.max} held at ${RATE} requests/s (${JSON.stringify(report)})`,
    );
    return report;
  }

  test('Redis killed, then restarted on the same port', { timeout: 30_000 }, async (t) => {
    const report = await outage({ begin: () => redis.kill(), end: () => redis.restart() });
    t.diagnostic(`kill/restart: ${JSON.stringify(report)}`);
    // The default client says so once per outage, not once per reconnection attempt.
    assert.ok(loggedErrors.length >= 1 && loggedErrors.length <= 2, loggedErrors.join('\n'));
    assert.match(loggedErrors[0] ?? '', /Redis unavailable/);
  });

  test('Redis frozen with SIGSTOP, then resumed', { timeout: 30_000 }, async (t) => {
    // Connections stay open and nothing answers: only timeouts can tell.
    const report = await outage({ begin: () => redis.pause(), end: () => redis.resume() });
    t.diagnostic(`SIGSTOP/SIGCONT: ${JSON.stringify(report)}`);
  });

  test('no log line carries the token', () => {
    const secretPart = token.slice(-49);
    for (const line of loggedErrors) {
      assert.ok(!line.includes(token) && !line.includes(secretPart), 'a log line contains the token');
    }
  });
});

describe('Redis restarted with and without persistence', () => {
  // appendfsync always survives even SIGKILL; everysec survives a clean shutdown (SIGTERM), and may
  // lose the last second on a crash. Without AOF (or RDB) a restart forgets every token.
  const cases = [
    { name: 'AOF appendfsync always, SIGKILL', aof: true, crash: true, kept: true },
    { name: 'AOF appendfsync everysec, SIGTERM', aof: 'everysec', crash: false, kept: true },
    { name: 'no persistence, SIGTERM', aof: false, crash: false, kept: false },
  ] as const;

  for (const { name, aof, crash, kept } of cases) {
    test(name, { timeout: 30_000 }, async () => {
      const redis = await startRedis({ aof });
      const previousUrl = process.env.REDIS_URL;
      process.env.REDIS_URL = redis.url;
      const auth = personalTokenAuth();
      if (previousUrl === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = previousUrl;
      const silenced = console.error;
      console.error = () => {};
      const app = await startAuthServer(auth);
      try {
        const hard = await auth.tokens.issue({ user: 'alice', expiresIn: '1h' });
        const sliding = await auth.tokens.issue({ user: 'bob', autoRefresh: '10m', label: 'webdav' });
        const revoked = await auth.tokens.issue({ user: 'alice', expiresIn: '1h' });
        assert.equal(await auth.tokens.revoke(revoked.id), true);
        const before = {
          hard: (await auth.tokens.inspect(hard.id))!.expiresAt.getTime(),
          sliding: (await auth.tokens.inspect(sliding.id))!.expiresAt.getTime(),
        };

        if (crash) await redis.kill();
        await redis.restart();
        // The app's client reconnects by itself; wait until the store answers again.
        const status = (t: string) => httpGet(`${app.url}/whoami`, bearer(t)).then((r) => r.status);
        await waitFor('the app to reach Redis again', async () =>
          (await status(revoked.token)) === 503 ? undefined : true,
        );

        if (!kept) {
          assert.equal(await status(hard.token), 401, 'a forgotten token is refused, not an error');
          assert.equal(await auth.tokens.inspect(hard.id), null);
          return;
        }
        // The remaining TTL survives: Redis persists the absolute expiry time.
        const afterRestart = {
          hard: (await auth.tokens.inspect(hard.id))!.expiresAt.getTime(),
          sliding: (await auth.tokens.inspect(sliding.id))!.expiresAt.getTime(),
        };
        assert.ok(
          Math.abs(afterRestart.hard - before.hard) < 1000,
          `hard expiry kept: ${JSON.stringify({ before, afterRestart })}`,
        );
        assert.ok(Math.abs(afterRestart.sliding - before.sliding) < 1000, 'sliding expiry kept, not reset');
        assert.equal(await status(hard.token), 200);
        assert.equal(await status(sliding.token), 200);
        assert.equal(await status(revoked.token), 401, 'a revoked token stays revoked');
        assert.deepEqual(
          (await auth.tokens.list('alice')).map((info) => info.id),
          [hard.id],
          'the user index survives too',
        );
      } finally {
        console.error = silenced;
        await app.close();
        await auth.tokens.close();
        await redis.stop();
      }
    });
  }
});
