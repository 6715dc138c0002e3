import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ConformanceCase, StoreHarness } from '../harness';
import { SLACK } from '../harness';

// Long enough that a case's calls fit in one window however slow the store's server is.
const WINDOW = 3000;

const clientKey = () => `198.51.100.${randomBytes(1)[0]}-${randomBytes(4).toString('hex')}`;
const hasAttempts = (store: StoreHarness['store']) =>
  store.reserveAttempt !== undefined || store.releaseAttempt !== undefined || store.failAttempt !== undefined;

/** The throttle's store (`AttemptStore`), for a store that is one. */
export const throttleCases: ConformanceCase[] = [
  {
    name: 'reserveAttempt grants only below the limit; releaseAttempt frees, failAttempt counts; reservations lapse',
    appliesTo: hasAttempts,
    async run(t) {
      for (const method of ['reserveAttempt', 'releaseAttempt', 'failAttempt'] as const) {
        assert.equal(typeof t.store[method], 'function', `${method}: the three go together`);
      }
      const reserve = t.store.reserveAttempt!.bind(t.store);
      const key = clientKey();
      const [first, second] = await Promise.all([reserve(key, 2, WINDOW), reserve(key, 2, WINDOW)]);
      assert.ok(first.attempt !== null && second.attempt !== null && first.attempt !== second.attempt);
      const refused = await reserve(key, 2, WINDOW);
      assert.deepEqual([refused.attempt, refused.failures, refused.pending], [null, 0, 2]);
      assert.equal((await reserve(key, 2, WINDOW)).pending, 2, 'a refusal reserves nothing');
      await t.store.releaseAttempt!(key, first.attempt);
      const third = await reserve(key, 2, WINDOW);
      assert.ok(third.attempt !== null, 'the released place is free again');
      assert.equal(third.failures, 0, 'a release counts nothing');
      const failed = await t.store.failAttempt!(key, third.attempt, WINDOW);
      assert.equal(failed.count, 1);
      const full = await reserve(key, 2, WINDOW);
      assert.deepEqual(
        [full.attempt, full.failures, full.pending],
        [null, 1, 1],
        'a failure and one in flight',
      );
      assert.ok(Math.abs(full.resetAt - failed.resetAt) <= SLACK);
      // The second attempt is never released: it lapses with its window, as the failure does.
      await t.advance(WINDOW + 300);
      const fresh = await reserve(key, 2, WINDOW);
      assert.ok(fresh.attempt !== null);
      assert.deepEqual([fresh.failures, fresh.pending], [0, 1]);
      await t.store.releaseAttempt!(key, fresh.attempt);
      assert.equal((await reserve(key, 1, WINDOW)).pending, 1, 'nothing left but the new reservation');
    },
  },
];
