import assert from 'node:assert/strict';
import type { CreateOutcome } from '../../lib/store';
import type { ConformanceCase } from '../harness';
import { SECOND } from '../harness';

const LIMIT = 100;
const RACING = 200;

/** create with `maxLiveTokens`: the count and the write are one step, and only live tokens count. */
export const liveTokenLimitCases: ConformanceCase[] = [
  {
    name: '200 creates racing at 5 below maxLiveTokens: exactly 5 are created, and the user then has exactly the limit',
    async run(t) {
      const owner = t.user();
      const held = Array.from({ length: LIMIT - 5 }, () => t.record({}, { user: owner }));
      await Promise.all(held.map((token) => t.create(token)));
      const racing = Array.from({ length: RACING }, () => t.record({}, { user: owner }));
      const outcomes = await Promise.all(
        racing.map((token) => t.store.create(token, { maxLiveTokens: LIMIT })),
      );
      const count = (outcome: CreateOutcome) => outcomes.filter((found) => found === outcome).length;
      assert.deepEqual(
        { created: count('created'), overLimit: count('over-limit') },
        { created: 5, overLimit: RACING - 5 },
      );
      const listed = new Set((await t.listAll(owner)).map((token) => token.id));
      assert.equal(listed.size, LIMIT, 'the user has exactly the limit');
      for (const [i, token] of racing.entries()) {
        const stored = await t.store.get(token.id);
        if (outcomes[i] === 'created')
          assert.ok(stored && listed.has(token.id), 'a created token is stored and listed');
        else assert.equal(stored, null, 'an over-limit create stores nothing');
      }
    },
  },
  {
    name: 'maxLiveTokens counts what listPage lists: revoked, expired and other users\u2019 tokens make no count',
    async run(t) {
      const owner = t.user();
      const revoked = t.record({}, { user: owner });
      const shortLived = t.record({ hard: 3000 }, { user: owner });
      const kept = t.record({}, { user: owner });
      await t.create(revoked, shortLived, kept, t.record({}, { user: t.user() }));
      assert.ok(await t.store.delete(revoked.id, t.now() + 60 * SECOND));
      const refused = t.record({}, { user: owner });
      assert.equal(await t.store.create(refused, { maxLiveTokens: 2 }), 'over-limit', 'two live tokens');
      assert.equal(await t.store.get(refused.id), null, 'a refusal stores nothing');
      await t.advance(3300);
      const room = t.record({}, { user: owner });
      assert.equal(await t.store.create(room, { maxLiveTokens: 2 }), 'created', 'the expired one made room');
      assert.equal(await t.store.create(t.record({}, { user: owner }), { maxLiveTokens: 2 }), 'over-limit');
      assert.equal(await t.store.create(refused, { maxLiveTokens: 3 }), 'created', 'a refused id stays free');
      assert.equal(
        await t.store.create(t.record({}, { user: owner })),
        'created',
        'without maxLiveTokens, no limit',
      );
      assert.equal((await t.listAll(owner)).length, 4);
    },
  },
];
