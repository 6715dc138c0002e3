import assert from 'node:assert/strict';
import { isRevoked } from '../../lib/check/token-checker';
import type { ConformanceCase } from '../harness';
import { SECOND } from '../harness';

/** delete and the tombstone it leaves: until min(tombstoneUntil, expiresAt), never extended. */
export const tombstoneCases: ConformanceCase[] = [
  {
    name: 'delete revokes at once, leaving a tombstone that verify reports, without secret material',
    async run(t) {
      const token = t.record({}, { user: t.user() });
      await t.create(token);
      assert.equal((await t.store.delete(token.id, t.now() + 60 * SECOND))?.id, token.id);
      for (const hash of [token.secretHash, t.sameIdOtherHash(token)]) {
        const found = await t.store.verify(token.id, hash, t.plan(token));
        assert.ok(found && isRevoked(found), 'verify sees the tombstone');
        assert.equal(found.user, token.user);
        assert.ok(!('secretHash' in found), 'no hash in a tombstone');
      }
      assert.equal(await t.store.get(token.id), null);
      assert.equal(await t.store.delete(token.id, t.now() + 60 * SECOND), null, 'revoked once');
      assert.deepEqual(await t.listAll(token.user), [], 'listed no more');
    },
  },
  {
    name: 'a tombstone lives until tombstoneUntil when that comes first',
    async run(t) {
      const token = t.record({ hard: 60 * SECOND });
      await t.create(token);
      await t.store.delete(token.id, t.now() + 1000);
      await t.advance(1300);
      assert.equal(await t.store.verify(token.id, token.secretHash, t.plan(token)), null);
    },
  },
  {
    name: 'a tombstone lives no longer than the token would have',
    async run(t) {
      const token = t.record({ hard: 1000 });
      await t.create(token);
      await t.store.delete(token.id, t.now() + 60 * SECOND);
      await t.advance(1300);
      assert.equal(await t.store.verify(token.id, token.secretHash, t.plan(token)), null);
    },
  },
  {
    name: 'verify never extends a tombstone, with the right hash or a wrong one',
    async run(t) {
      // A sliding token without a hard limit: a check of its text asks for a full window each time.
      const token = t.record({ window: 2 * SECOND, hard: null });
      await t.create(token);
      await t.store.delete(token.id, t.now() + 60 * SECOND);
      await t.advance(800);
      for (const hash of [token.secretHash, t.sameIdOtherHash(token)]) {
        const found = await t.store.verify(token.id, hash, t.plan(token));
        assert.ok(found && isRevoked(found), 'still reported as revoked');
      }
      await t.advance(1500);
      assert.equal(
        await t.store.verify(token.id, token.secretHash, t.plan(token)),
        null,
        'gone when the token would have expired',
      );
    },
  },
];
