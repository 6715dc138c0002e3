// RedisTokenStore takes an ioredis client of either major, Redis or Cluster: the types accept each
// (checked by `npm run typecheck`, which compiles this file), and each standalone client runs the
// store's every command against the local Redis.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type Cluster as Cluster6, Redis as Redis6 } from 'ioredis';
import { type Cluster as Cluster5, Redis as Redis5 } from 'ioredis5';
import { RedisTokenStore, type RedisTokenStoreClient } from '../adapters/redis';
import { TokenService } from '../lib/index';
import { deleteKeys, TEST_REDIS_URL, uniquePrefix } from './support/redis';

// Type checks only (never called): a Cluster needs a cluster to connect to.
export const acceptsEveryClient = [
  (client: Redis6) => new RedisTokenStore(client),
  (client: Cluster6) => new RedisTokenStore(client),
  (client: Redis5) => new RedisTokenStore(client),
  (client: Cluster5) => new RedisTokenStore(client),
];
// The client type is a real shape, not `any`: an object without the commands is refused.
export const refusesOtherObjects = () =>
  // @ts-expect-error: a client must have the commands the store sends.
  new RedisTokenStore({ get: async () => null });
export const clientTypeIsExported: RedisTokenStoreClient | undefined = undefined;

for (const [major, connect] of [
  ['ioredis 6', () => new Redis6(TEST_REDIS_URL, { maxRetriesPerRequest: 1 })],
  ['ioredis 5', () => new Redis5(TEST_REDIS_URL, { maxRetriesPerRequest: 1 })],
] as const) {
  describe(`RedisTokenStore with an ${major} client`, () => {
    const client = connect();
    const prefix = uniquePrefix('client-major');
    after(async () => {
      await deleteKeys(client as Redis6, prefix);
      await client.quit();
    });

    test('issues, verifies (hard and sliding), lists, rotates, limits failures and revokes', async () => {
      let now = Date.now();
      const clock = () => now;
      const store = new RedisTokenStore(client, { prefix, now: clock });
      const tokens = new TokenService({ store, now: clock });
      const hard = await tokens.issue({ user: 'ada', expiresIn: '1h', label: 'hard' });
      const sliding = await tokens.issue({ user: 'ada', autoRefresh: '10m', expiresIn: '1d' });
      assert.equal((await tokens.verify(hard.token))?.user, 'ada');
      assert.equal((await tokens.verify(sliding.token))?.user, 'ada');
      assert.deepEqual(
        (await tokens.list('ada')).map((info) => info.id).sort(),
        [hard.id, sliding.id].sort(),
      );

      now += 60_000;
      const rotated = await tokens.rotate(hard.id, { overlap: '1m' });
      assert.ok(rotated, 'rotate answered the new token');
      assert.equal((await tokens.verify(rotated.token))?.user, 'ada');

      // The throttle's store: a reservation, a failure, a release.
      const failing = await store.reserveAttempt('192.0.2.1', 5, 60_000);
      assert.equal((await store.failAttempt('192.0.2.1', failing.attempt!, 60_000)).count, 1);
      const passing = await store.reserveAttempt('192.0.2.1', 5, 60_000);
      assert.deepEqual([passing.failures, passing.pending], [1, 1]);
      await store.releaseAttempt('192.0.2.1', passing.attempt!);
      assert.equal((await store.reserveAttempt('192.0.2.1', 5, 60_000)).pending, 1);

      assert.equal(await tokens.revoke(sliding.id), true);
      assert.equal(await tokens.verify(sliding.token), null);
      assert.ok((await tokens.revokeAll('ada')) >= 1);
      assert.deepEqual(await tokens.list('ada'), []);
    });
  });
}
