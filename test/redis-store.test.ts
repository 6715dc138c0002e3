import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisTokenStore } from '../adapters/redis';
import { TOMBSTONE_LIFE, TokenService } from '../lib/index';
import { connectTestRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix, waitReal } from './support/redis';
import { dropSubscriptions, remoteInvalidations } from './support/redis-conformance';

const DAY = 24 * 3_600_000;

import { conformanceCaseNames } from '../testing/check-token-store';
import { testTokenStore } from '../testing/node-test';

testTokenStore(
  'RedisTokenStore (standalone)',
  async () => {
    // Named, so that its channel's subscriptions (which copy the name) can be told from the shared
    // server's other connections and cut.
    const connectionName = uniquePrefix('conformance').replaceAll(':', '-');
    const open = () => new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, connectionName });
    const client = open();
    const prefix = uniquePrefix('conformance');
    const others: Redis[] = [];
    return {
      store: new RedisTokenStore(client, { prefix }),
      advance: waitReal,
      remoteChannel: async () => {
        const other = open();
        others.push(other);
        return remoteInvalidations(other, `${prefix}invalidated`);
      },
      dropSubscriptions: () => dropSubscriptions(client, connectionName),
      cleanup: async () => {
        await deleteKeys(client, prefix);
        await client.quit();
        for (const other of others) other.disconnect();
      },
    };
  },
  {
    // No replica here: test/reliability-durable-revocation.test.ts runs the failover case on a master + replica.
    notOffered: conformanceCaseNames.filter((name) => name.startsWith('failover:')),
  },
);

describe('RedisTokenStore: no use of a token text extends a key past its token', () => {
  const client = connectTestRedis();
  const prefix = uniquePrefix('key-life');
  // The app's clock may run ahead of Redis' (the test moves it; Redis' cannot be moved).
  let ahead = 0;
  const store = new RedisTokenStore(client, { prefix, now: () => Date.now() + ahead });
  // Windows of years are the point of these tests: the policy's longest window is lifted.
  const tokens = new TokenService({ store, maxAutoRefresh: Number.POSITIVE_INFINITY });
  after(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });
  const pttlOf = async (id: string) =>
    Math.max(
      ...(await Promise.all(
        [store.tokenKey(id), `${prefix}l:{${id}}`, `${prefix}r:{${id}}`].map((key) => client.pttl(key)),
      )),
    );

  test('a revoked sliding token: its tombstone lives at most 7 days, however often it is used', async () => {
    ahead = 0;
    const issued = await tokens.issue({ user: 'ann', autoRefresh: 3650 * DAY });
    assert.equal(await tokens.revoke(issued.id), true);
    for (let i = 0; i < 3; i++) assert.equal((await tokens.authenticate(issued.token)).ok, false);
    const ttl = await pttlOf(issued.id);
    assert.ok(ttl > 0 && ttl <= TOMBSTONE_LIFE, `tombstone PTTL ${ttl}`);
  });

  test('a token rotated with an overlap: used after the overlap, it stays gone, unlisted and uncounted', async () => {
    ahead = 0;
    const issued = await tokens.issue({ user: 'bob', autoRefresh: 7 * DAY });
    await tokens.rotate(issued.id, { overlap: '1h' });
    assert.equal((await tokens.authenticate(issued.token)).ok, true, 'works during the overlap');
    assert.ok((await pttlOf(issued.id)) <= 3_600_000, 'its key expires with the overlap');
    // The overlap is over by the app's clock; Redis' own clock has not got there yet.
    ahead = 2 * 3_600_000;
    for (let i = 0; i < 3; i++) assert.equal((await tokens.authenticate(issued.token)).ok, false);
    const ttl = await pttlOf(issued.id);
    assert.ok(ttl <= 3_600_000, `not extended past the overlap: PTTL ${ttl}`);
    assert.deepEqual(
      (await tokens.list('bob')).map((info) => info.id).filter((id) => id === issued.id),
      [],
      'not listed',
    );
    const counted = new TokenService({ store, maxTokensPerUser: 1 });
    await counted.issue({ user: 'bob', autoRefresh: '1h' }).catch(() => {});
    await assert.rejects(counted.issue({ user: 'bob', autoRefresh: '1h' }), { code: 'ERR_TOKEN_LIMIT' });
  });
});

describe("RedisTokenStore: an issue in flight holds its place in the user's index", () => {
  const client = connectTestRedis();
  const prefix = uniquePrefix('reservations');
  // The app's clock runs ahead of Redis' when the test moves it: reservations lapse on it.
  let ahead = 0;
  const store = new RedisTokenStore(client, { prefix, now: () => Date.now() + ahead });
  const tokens = new TokenService({ store, maxTokensPerUser: 3 });
  after(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });

  test('a reserved id without its record counts, is never dropped while reserved, and is once it lapses', async () => {
    const user = 'flight';
    await tokens.issue({ user, expiresIn: '1h' });
    await tokens.issue({ user, expiresIn: '1h' });
    // What an app that died between reserving an id and writing its record leaves (see RESERVE).
    const orphan = '0123456789abcdef';
    await client.zadd(store.userKey(user), String(Date.now()), orphan);
    await client.zadd(store.reservationsKey(user), String(Date.now() + 60_000), orphan);
    const inIndex = async () => (await client.zscore(store.userKey(user), orphan)) !== null;
    // Its record may still be on its way: it counts, and neither a listing nor an issue at the
    // limit (which looks up the user's tokens and drops the gone ones) drops it.
    await assert.rejects(tokens.issue({ user, expiresIn: '1h' }), { code: 'ERR_TOKEN_LIMIT' });
    assert.equal((await tokens.list(user)).length, 2);
    assert.ok(await inIndex(), 'kept while reserved');
    ahead = 61_000;
    assert.ok(await tokens.issue({ user, expiresIn: '1h' }), 'the lapsed reservation made room');
    assert.equal(await inIndex(), false, 'dropped once lapsed');
    assert.equal((await tokens.list(user)).length, 3);
    assert.equal(await client.zcard(store.reservationsKey(user)), 0, 'no issue left in flight');
  });
});
