// Concurrency against real Redis (the shared server, under a key prefix of this file's own): many
// requests refreshing one sliding token at once, ten thousand tokens issued at once, and revocation
// racing live requests.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { RedisTokenStore } from '../adapters/redis';
import { type IssuedToken, personalTokenAuth, TokenService } from '../lib/index';
import { type AuthServer, startAuthServer } from './support/auth-server';
import { basic, bearer, httpGet } from './support/http-load';
import { connectTestRedis, deleteKeys, uniquePrefix } from './support/redis';

const WINDOW_MS = 10 * 60 * 1000;

describe('concurrency', () => {
  let client: Redis;
  let prefix: string;
  let tokens: TokenService;
  let app: AuthServer;

  before(async () => {
    client = connectTestRedis();
    prefix = uniquePrefix('reliability-concurrency');
    // A deadline far above any answer a busy machine gives: these tests are about order, and a 503
    // from a slow answer would read as a request let in or refused for the wrong reason.
    tokens = new TokenService({ store: new RedisTokenStore(client, { prefix }), timeout: 30_000 });
    app = await startAuthServer(personalTokenAuth({ tokens }));
  });
  after(async () => {
    await app?.close();
    await deleteKeys(client, prefix);
    await client.quit();
  });

  test('500 concurrent requests with one sliding token: all pass, the TTL ends at the full window', async () => {
    const token = await tokens.issue({ user: 'slider', autoRefresh: WINDOW_MS });
    const agent = new Agent({ keepAlive: true, maxSockets: 500 });
    const burstStart = Date.now();
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        httpGet(`${app.url}/whoami`, i % 2 === 0 ? bearer(token.token) : basic('slider', token.token), {
          agent,
          guardMs: 30_000,
        }),
      ),
    );
    agent.destroy();
    assert.deepEqual(
      results.filter((r) => r.status !== 200).map((r) => r.status),
      [],
    );
    const pttl = await client.pttl(`${prefix}t:{${token.id}}`);
    const sinceBurst = Date.now() - burstStart;
    // Every refresh sets the full window from its own moment, whatever order they ran in: the TTL
    // left is the window minus at most the time since the burst began, never less.
    assert.ok(pttl <= WINDOW_MS, `PTTL ${pttl} <= window`);
    assert.ok(pttl >= WINDOW_MS - sinceBurst - 50, `PTTL ${pttl} >= window - ${sinceBurst} ms`);
    const info = await tokens.inspect(token.id);
    assert.ok(info?.lastUsedAt, 'the use was recorded');
    assert.ok(Math.abs(info.expiresAt.getTime() - (Date.now() + pttl)) < 1000);
  });

  test('10,000 tokens issued concurrently are all distinct and all verify', {
    timeout: 120_000,
  }, async (t) => {
    // One deadline for the whole burst: 10,000 calls in flight at once wait on each other.
    const bulk = new TokenService({ store: new RedisTokenStore(client, { prefix }), timeout: 60_000 });
    const started = performance.now();
    const issued = await Promise.all(
      Array.from({ length: 10_000 }, (_, i) => bulk.issue({ user: `bulk${i % 5000}`, expiresIn: '1h' })),
    );
    const issueMs = performance.now() - started;
    assert.equal(new Set(issued.map((token) => token.token)).size, 10_000, 'token texts are distinct');
    assert.equal(new Set(issued.map((token) => token.id)).size, 10_000, 'ids are distinct');
    const secrets = issued.map((token) => token.token.slice(4 + 16, 4 + 16 + 43));
    assert.equal(new Set(secrets).size, 10_000, 'secrets are distinct');

    const verifyStarted = performance.now();
    const verified = await Promise.all(issued.map((token) => bulk.verify(token.token)));
    const verifyMs = performance.now() - verifyStarted;
    verified.forEach((info, i) => {
      assert.equal(info?.id, issued[i]!.id);
      assert.equal(info?.user, issued[i]!.user);
    });
    assert.equal((await bulk.list('bulk7')).length, 2, 'every token is in its user index');
    t.diagnostic(`10,000 issues in ${Math.round(issueMs)} ms, 10,000 verifies in ${Math.round(verifyMs)} ms`);
  });

  interface Attempt {
    start: number;
    end: number;
    status: number;
  }

  /**
   * Workers send requests back to back with the given tokens while `revoke` runs somewhere in the
   * middle; returns every attempt and when the revocation was called and resolved.
   */
  async function raceRevocation(victims: IssuedToken[], revoke: () => Promise<unknown>) {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const attempts: Attempt[] = [];
    let revokeResolved = Number.POSITIVE_INFINITY;
    // Each worker goes on until it has sent a request after the revocation resolved: a count, not a
    // time, so that a busy machine still puts requests on both sides.
    const worker = async (w: number) => {
      for (let i = 0, start = 0; start <= revokeResolved; i++) {
        const token = victims[(w + i) % victims.length]!;
        start = performance.now();
        const { status } = await httpGet(`${app.url}/whoami`, bearer(token.token), { agent });
        attempts.push({ start, end: performance.now(), status });
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    // Revoke once requests are flowing (some answered already), at a random moment after that: a
    // fixed delay is not enough on a loaded machine, where the first answers can come late.
    while (attempts.length < 8) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
    const revokeCalled = performance.now();
    await revoke();
    revokeResolved = performance.now();
    await Promise.all(workers);
    agent.destroy();
    return { attempts, revokeCalled, revokeResolved };
  }

  function assertLinearizable(race: Awaited<ReturnType<typeof raceRevocation>>) {
    const { attempts, revokeCalled, revokeResolved } = race;
    const before = attempts.filter((a) => a.end < revokeCalled);
    const after = attempts.filter((a) => a.start > revokeResolved);
    assert.ok(before.length > 0 && after.length > 0, 'requests on both sides of the revocation');
    assert.deepEqual(
      before.filter((a) => a.status !== 200).map((a) => a.status),
      [],
      'answered before revoke() was called: accepted',
    );
    assert.deepEqual(
      after.filter((a) => a.status !== 401).map((a) => a.status),
      [],
      'started after revoke() resolved: refused',
    );
    // Overlapping requests may go either way, but only those two ways.
    assert.ok(attempts.every((a) => a.status === 200 || a.status === 401));
    return {
      before: before.length,
      overlapping: attempts.length - before.length - after.length,
      after: after.length,
    };
  }

  test('revoke() is linearizable: no request started after it resolved gets in', async (t) => {
    const figures = [];
    for (let round = 0; round < 15; round++) {
      const token = await tokens.issue({ user: `racer${round}`, autoRefresh: '10m' });
      figures.push(assertLinearizable(await raceRevocation([token], () => tokens.revoke(token.id))));
    }
    t.diagnostic(`requests before / overlapping / after revoke, per round: ${JSON.stringify(figures)}`);
  });

  test('revokeAll() is linearizable too, for every token of the user', async (t) => {
    const figures = [];
    for (let round = 0; round < 8; round++) {
      const user = `racer-all${round}`;
      const own = await Promise.all([1, 2, 3].map(() => tokens.issue({ user, expiresIn: '1h' })));
      const race = await raceRevocation(own, async () => assert.equal(await tokens.revokeAll(user), 3));
      figures.push(assertLinearizable(race));
    }
    t.diagnostic(`requests before / overlapping / after revokeAll, per round: ${JSON.stringify(figures)}`);
  });
});
