import assert from 'node:assert/strict';
import { isRevoked } from '../../lib/check/token-checker';
import type { ConformanceCase } from '../harness';
import { SECOND } from '../harness';

const PARALLEL = 50;
const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

/** Calls racing each other on one token: what each must see, and what is left after. */
export const concurrencyCases: ConformanceCase[] = [
  {
    name: 'parallel creates of one id: exactly one succeeds, and its record is the one stored',
    async run(t) {
      const token = t.record();
      const users = times(PARALLEL / 2, () => t.user());
      const results = await Promise.all(users.map((user) => t.store.create({ ...token, user })));
      assert.equal(results.filter((outcome) => outcome === 'created').length, 1, 'exactly one created');
      assert.ok(results.every((outcome) => outcome === 'created' || outcome === 'id-taken'));
      assert.equal((await t.store.get(token.id))?.user, users[results.indexOf('created')]);
    },
  },
  {
    name: 'a delete racing verifies: once it resolves, verify never returns the live record',
    async run(t) {
      const token = t.record({ window: 30 * SECOND, hard: null });
      await t.create(token);
      const racing = times(PARALLEL, () => t.store.verify(token.id, token.secretHash, t.plan(token)));
      const revoked = await t.store.delete(token.id, t.now() + 60 * SECOND);
      assert.equal(revoked?.id, token.id);
      const after = await Promise.all(
        times(PARALLEL / 5, () => t.store.verify(token.id, token.secretHash, t.plan(token))),
      );
      for (const found of after) assert.ok(found && isRevoked(found), 'revoked after delete resolved');
      for (const found of await Promise.all(racing))
        assert.ok(found, 'a racing verify saw the record or its tombstone');
      assert.equal(await t.store.get(token.id), null);
      assert.equal(await t.store.create(token), 'id-taken', 'the id stays taken');
    },
  },
  {
    name: 'a limit racing verifies: after it resolves, no use keeps the token past the new limit',
    async run(t) {
      const token = t.record({ window: 60 * SECOND, hard: null });
      await t.create(token);
      const limitAt = t.now() + 2000;
      const racing = times(PARALLEL, () => t.verifyLive(token));
      assert.equal(await t.store.limit(token.id, limitAt), true);
      await Promise.all(racing);
      for (const used of await Promise.all(times(5, () => t.verifyLive(token)))) {
        assert.ok(used && used.expiresAt <= limitAt, 'within the new limit');
      }
      await t.advance(2300);
      t.assertGone(await t.verifyLive(token), 'past the new limit');
      assert.equal(await t.store.get(token.id), null);
    },
  },
  {
    name: 'parallel verifies of a sliding token leave its full window',
    async run(t) {
      const token = t.record({ window: 30 * SECOND, hard: null });
      await t.create(token);
      await t.advance(2 * SECOND);
      const results = await Promise.all(times(PARALLEL * 2, () => t.verifyLive(token)));
      assert.ok(
        results.every((found) => found !== null),
        'every one found it',
      );
      assert.ok((await t.store.get(token.id))!.expiresAt >= t.now() + 29 * SECOND);
    },
  },
];
