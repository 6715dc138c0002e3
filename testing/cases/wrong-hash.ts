import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isRevoked } from '../../lib/check/token-checker';
import type { ConformanceCase } from '../harness';
import { SECOND, SLACK } from '../harness';

/**
 * verify with a hash that is not the record's. With the same id (the first 16 hex digits), a store
 * returns the record but writes no use; only a store whose one-command read sets the expiry may have
 * pushed it to the plan's (see `TokenStore.verify`). With another id, it returns null and changes
 * nothing.
 */
export const wrongHashCases: ConformanceCase[] = [
  {
    name: 'verify with a wrong hash (same id) writes no use, and moves no expiry past the plan',
    async run(t) {
      for (const terms of [{ window: 2 * SECOND, hard: null }, { hard: 60 * SECOND }]) {
        const token = t.record(terms, { lastUsedIp: '192.0.2.1' });
        await t.create(token);
        const plan = { ...t.plan(token, { ip: '203.0.113.9' }), touchIfBefore: t.now() + SECOND };
        const found = await t.store.verify(token.id, t.sameIdOtherHash(token), plan);
        assert.ok(found === null || !isRevoked(found), 'not a tombstone');
        if (found) {
          assert.equal(found.secretHash, token.secretHash, 'the record as stored');
          assert.equal(found.lastUsedAt, null, 'no use written');
          assert.equal(found.lastUsedIp, '192.0.2.1', 'nor its IP');
        }
        const after = (await t.store.get(token.id))!;
        assert.equal(after.lastUsedAt, null, 'no use stored');
        assert.equal(after.lastUsedIp, '192.0.2.1');
        const pushedTo = plan.expiresAt ?? token.expiresAt;
        assert.ok(after.expiresAt <= pushedTo + SLACK, 'no expiry past the plan');
        if (plan.expiresAt === null)
          assert.ok(Math.abs(after.expiresAt - token.expiresAt) <= SLACK, 'unchanged');
      }
    },
  },
  {
    name: 'verify with a wrong hash (same id) on a limited token writes no use and stays within the limit',
    async run(t) {
      const token = t.record({ window: 60 * SECOND, hard: null });
      await t.create(token);
      assert.equal(await t.store.limit(token.id, t.now() + 2000), true);
      const plan = { ...t.plan(token), touchIfBefore: t.now() + SECOND };
      const found = await t.store.verify(token.id, t.sameIdOtherHash(token), plan);
      if (found && !isRevoked(found)) assert.equal(found.lastUsedAt, null);
      const after = (await t.store.get(token.id))!;
      assert.equal(after.lastUsedAt, null);
      assert.ok(after.expiresAt <= after.hardExpiresAt!, 'within the new limit');
      await t.advance(2300);
      assert.equal(await t.store.get(token.id), null, 'gone at the new limit');
    },
  },
  {
    name: 'verify with a wrong hash (same id) never revives an expired token',
    async run(t) {
      const token = t.record({ window: 800, hard: null });
      await t.create(token);
      await t.advance(1100);
      const found = await t.store.verify(token.id, t.sameIdOtherHash(token), t.plan(token));
      assert.ok(found === null || (!isRevoked(found) && found.expiresAt <= t.now()), 'wrong hash: gone');
      assert.equal(await t.store.get(token.id), null);
      t.assertGone(await t.verifyLive(token), 'right hash after');
    },
  },
  {
    name: 'verify with a hash whose first 16 digits are not the id is null and changes nothing',
    async run(t) {
      const token = t.record({ window: 3 * SECOND, hard: null });
      await t.create(token);
      const plan = { ...t.plan(token, { ip: '203.0.113.9' }), touchIfBefore: t.now() + SECOND };
      const otherId = randomBytes(32).toString('hex');
      assert.equal(await t.store.verify(token.id, otherId, plan), null, 'another hash');
      const elsewhere = t.record();
      assert.equal(
        await t.store.verify(elsewhere.id, token.secretHash, plan),
        null,
        'the hash under another id',
      );
      const after = (await t.store.get(token.id))!;
      assert.equal(after.lastUsedAt, null);
      assert.ok(Math.abs(after.expiresAt - token.expiresAt) <= SLACK, 'expiry unchanged');
      await t.advance(3.5 * SECOND);
      assert.equal(await t.store.get(token.id), null, 'expired on its first schedule');
    },
  },
];
