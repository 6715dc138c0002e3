import assert from 'node:assert/strict';
import type { ConformanceCase } from '../harness';
import { SECOND, SLACK } from '../harness';

/** Hard limits under use: a sliding token never outlives its hard limit, or one `limit` brought forward. */
export const hardLimitCases: ConformanceCase[] = [
  {
    name: 'a sliding token used again and again never outlives its hard limit',
    async run(t) {
      const token = t.record({ window: 60 * SECOND, hard: 3000 });
      await t.create(token);
      for (let i = 0; i < 3; i++) {
        const used = await t.verifyLive(token);
        assert.ok(used && used.expiresAt <= token.hardExpiresAt!, 'capped by the hard limit');
        await t.advance(300);
      }
      await t.advance(2400);
      t.assertGone(await t.verifyLive(token), 'past the hard limit');
      assert.equal(await t.store.get(token.id), null);
    },
  },
  {
    name: 'verify caps plan.expiresAt at a hard limit that limit() brought forward',
    async run(t) {
      const owner = t.user();
      const token = t.record({ window: 60 * SECOND, hard: null }, { user: owner });
      await t.create(token);
      const limitAt = t.now() + 2000;
      assert.equal(await t.store.limit(token.id, limitAt), true);
      for (let i = 0; i < 3; i++) {
        const used = await t.verifyLive(token);
        assert.ok(used, 'live until the new limit');
        assert.ok(used.hardExpiresAt !== null && used.hardExpiresAt <= limitAt, 'the new limit');
        assert.ok(
          used.expiresAt <= used.hardExpiresAt,
          `expiresAt ${used.expiresAt} within ${used.hardExpiresAt}`,
        );
      }
      assert.deepEqual(
        (await t.listAll(owner)).map((found) => found.id),
        [token.id],
      );
      await t.advance(2300);
      t.assertGone(await t.verifyLive(token), 'past the new limit');
      assert.equal(await t.store.get(token.id), null);
      assert.deepEqual(await t.listAll(owner), []);
    },
  },
  {
    name: 'limit brings a hard limit forward, never back',
    async run(t) {
      const token = t.record({ window: 60 * SECOND, hard: null });
      await t.create(token);
      assert.equal(await t.store.limit(token.id, t.now() + 2000), true);
      const limited = (await t.store.get(token.id))!;
      assert.ok(limited.hardExpiresAt !== null && limited.hardExpiresAt <= t.now() + 2000);
      assert.ok(limited.expiresAt <= limited.hardExpiresAt + SLACK);
      assert.equal(await t.store.limit(token.id, t.now() + 60 * SECOND), true);
      assert.equal((await t.store.get(token.id))!.hardExpiresAt, limited.hardExpiresAt, 'never pushed back');
      await t.advance(2300);
      assert.equal(await t.store.get(token.id), null);
      assert.equal(await t.store.limit(token.id, t.now() + 1000), false, 'no live token');
    },
  },
  {
    name: 'a check of a token past its hard limit extends nothing',
    async run(t) {
      const token = t.record({ window: 60 * SECOND, hard: 700 });
      await t.create(token);
      await t.advance(900);
      t.assertGone(await t.verifyLive(token), 'past the hard limit');
      assert.equal(await t.store.get(token.id), null);
    },
  },
];
