// The token cache behind Redis Sentinel (1 master, 1 replica, 3 sentinels): the invalidation channel
// follows a failover to the new master, and the caches are dropped while it is away.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RedisOptions } from 'ioredis';
import type { Check } from '../lib/check/token-checker';
import { type IssuedToken, TokenService } from '../lib/index';
import { observedStore } from './support/observed-store';
import { type SentinelHandle, startSentinel } from './support/redis-sentinel';
import { waitFor } from './support/wait-for';

const SENTINEL_OPTIONS: RedisOptions = {
  commandTimeout: 1000,
  connectTimeout: 1000,
  socketTimeout: 1000,
  maxRetriesPerRequest: 0,
  retryStrategy: (attempt) => Math.min(100 * attempt, 500),
  failoverDetector: true,
};

function check(tokens: TokenService, token: string): Promise<Check> {
  return tokens.checker.check(token, undefined, undefined);
}

describe('TokenService cache through ioredis with Sentinel', () => {
  let sentinel: SentinelHandle;
  const services: TokenService[] = [];
  before(async () => {
    sentinel = await startSentinel();
  });
  after(async () => {
    for (const service of services) await service.close();
    await sentinel?.stop();
  });

  test('after a failover, the channel is back on the new master and a revocation reaches the other process', async () => {
    // Two "processes": each its own client, store and cache, on the same keys.
    const clients = [sentinel.client(SENTINEL_OPTIONS), sentinel.client(SENTINEL_OPTIONS)] as const;
    const one = observedStore(clients[0]);
    const two = observedStore(clients[1], { prefix: one.store.prefix });
    const first = new TokenService({ store: one.store, cache: { maxStale: '1h' } });
    const second = new TokenService({ store: two.store, cache: { maxStale: '1h' } });
    services.push(first, second);
    const healthy = (health: boolean[]) => (health.at(-1) === true ? true : undefined);
    await waitFor('both channels', async () =>
      healthy(one.health) && healthy(two.health) ? true : undefined,
    );
    const issued: IssuedToken[] = [];
    for (let i = 0; i < 3; i++) issued.push(await first.issue({ user: 'ann', expiresIn: '1h' }));
    for (const { token } of issued) {
      assert.equal((await check(first, token)).ok, true);
      assert.equal((await check(second, token)).ok, true);
    }
    const seen = [one.health.length, two.health.length];
    await sentinel.failover();
    await waitFor('both drops to be heard', async () =>
      one.health.slice(seen[0]).includes(false) && two.health.slice(seen[1]).includes(false)
        ? true
        : undefined,
    );
    await waitFor(
      'both channels back',
      async () =>
        one.health.slice(seen[0]).at(-1) === true && two.health.slice(seen[1]).at(-1) === true
          ? true
          : undefined,
      { timeoutMs: 30_000 },
    );
    // The channels have connections of their own: the commands' may still be reconnecting.
    await waitFor(
      'both clients back',
      async () => (clients.every((c) => c.status === 'ready') ? true : undefined),
      {
        timeoutMs: 30_000,
      },
    );
    // The caches were dropped: the next check of each goes to the new master, then hits.
    const before = two.verifies();
    assert.equal((await check(second, issued[0]!.token)).ok, true);
    assert.equal((await check(second, issued[0]!.token)).ok, true);
    assert.equal(two.verifies(), before + 1);
    // A revocation in one process reaches the other's cache through the new master.
    assert.equal(await first.revoke(issued[0]!.id), true);
    await waitFor('the message', async () => (two.heard.includes(issued[0]!.id) ? true : undefined));
    assert.equal((await check(second, issued[0]!.token)).ok, false);
    assert.equal((await check(second, issued[1]!.token)).ok, true);
  });
});
