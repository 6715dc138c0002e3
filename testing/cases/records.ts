import assert from 'node:assert/strict';
import type { ConformanceCase } from '../harness';
import { SECOND, SLACK } from '../harness';

/** Creating and reading records. */
export const recordCases: ConformanceCase[] = [
  {
    name: 'create then get returns the record as stored',
    async run(t) {
      const token = t.record(
        {},
        { label: 'backup script', scopes: ['node:a1:r', 'node:b2:rw'], user: t.user() },
      );
      await t.create(token);
      const got = await t.store.get(token.id);
      assert.ok(got, 'get finds the record');
      assert.deepEqual({ ...got, expiresAt: 0 }, { ...token, expiresAt: 0 });
      assert.ok(Math.abs(got.expiresAt - token.expiresAt) <= SLACK, 'its expiry');
    },
  },
  {
    name: 'create refuses an id already taken (live or revoked), keeping the first record',
    async run(t) {
      const token = t.record();
      await t.create(token);
      assert.equal(await t.store.create({ ...token, user: 'mallory' }), 'id-taken', 'a live id');
      assert.equal((await t.store.get(token.id))?.user, token.user);
      assert.ok(await t.store.delete(token.id, t.now() + 60 * SECOND));
      assert.equal(await t.store.create(token), 'id-taken', 'a revoked id is never reused');
      assert.equal(await t.store.get(token.id), null);
    },
  },
  {
    name: "an expired token's id may be made again, and the new record keeps nothing of the old one",
    async run(t) {
      const old = t.record({ window: 1 * SECOND, hard: null }, { user: t.user() });
      await t.create(old);
      assert.ok(await t.verifyLive(old, t.plan(old, { ip: '203.0.113.9' })), 'used once, from an address');
      await t.advance(1.5 * SECOND);
      const again = t.record({}, { id: old.id, secretHash: old.secretHash, user: t.user() });
      await t.create(again);
      const got = await t.store.get(old.id);
      assert.ok(got, 'the new record is there');
      assert.equal(got.user, again.user);
      assert.deepEqual(got.recentIps, [], "the old token's addresses are not the new one's");
      assert.equal(got.lastUsedAt, null);
      assert.deepEqual(got.ancestorIds, again.ancestorIds);
    },
  },
  {
    name: 'get, verify, delete and limit of an unknown id find nothing',
    async run(t) {
      const token = t.record();
      assert.equal(await t.store.get(token.id), null);
      assert.equal(await t.store.verify(token.id, token.secretHash, t.plan(token)), null);
      assert.equal(await t.store.delete(token.id, t.now() + 60 * SECOND), null);
      assert.equal(await t.store.limit(token.id, t.now() + 1000), false);
    },
  },
  {
    name: 'get never refreshes a sliding token',
    async run(t) {
      const token = t.record({ window: 3 * SECOND, hard: null });
      await t.create(token);
      await t.advance(1 * SECOND);
      assert.ok(await t.store.get(token.id), 'still live');
      await t.advance(2.5 * SECOND);
      assert.equal(await t.store.get(token.id), null, 'expired on its first schedule');
    },
  },
];
