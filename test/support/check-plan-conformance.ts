// The store contract with a CheckPlan (verify applies what the service decided; delete is given the
// tombstone's life), for a store written against it: what `personal-token-auth/testing` checks, in
// node:test form, until that suite is published. A harness is the suite's: { store, advance, cleanup }.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type {
  AttemptReservation,
  CheckPlan,
  FailureCount,
  PageRequest,
  RevokedToken,
  StoredToken,
  TokenPage,
} from '../../lib/store';
import { isRevoked, TOMBSTONE_LIFE } from '../../lib/store';
import { tokenIdOf } from '../../lib/token-format';

/** A store as the new contract has it (the members this suite calls). */
export interface PlanStore {
  create(token: StoredToken): Promise<boolean>;
  verify(id: string, secretHash: string, plan: CheckPlan): Promise<StoredToken | RevokedToken | null>;
  get(id: string): Promise<StoredToken | null>;
  listPage(user: string, page: PageRequest): Promise<TokenPage>;
  delete(id: string, tombstoneUntil: number): Promise<StoredToken | null>;
  limit(id: string, hardExpiresAt: number): Promise<boolean>;
  now?(): number;
  recordFailure?(key: string, window: number): Promise<FailureCount>;
  reserveAttempt?(key: string, limit: number, window: number): Promise<AttemptReservation>;
  releaseAttempt?(key: string, attempt: string): Promise<void>;
  failAttempt?(key: string, attempt: string, window: number): Promise<FailureCount>;
}

export interface PlanHarness {
  store: PlanStore;
  /** Moves the store's clock forward (or waits that long, for a store on a server's clock). */
  advance(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export function runCheckPlanConformance(name: string, makeHarness: () => Promise<PlanHarness>): void {
  describe(`TokenStore conformance (CheckPlan): ${name}`, () => {
    let h: PlanHarness;
    let store: PlanStore;
    before(async () => {
      h = await makeHarness();
      store = h.store;
    });
    after(async () => {
      await h.cleanup();
    });

    const now = () => store.now?.() ?? Date.now();
    const login = () => `user-${randomBytes(4).toString('hex')}`;
    function record(overrides: Partial<StoredToken> = {}): StoredToken {
      const created = now();
      const secretHash = overrides.secretHash ?? randomBytes(32).toString('hex');
      return {
        id: tokenIdOf(secretHash),
        user: 'alice',
        secretHash,
        label: null,
        scopes: [],
        createdAt: created,
        expiresAt: created + MINUTE,
        hardExpiresAt: created + MINUTE,
        autoRefresh: null,
        lastUsedAt: null,
        lastUsedIp: null,
        ...overrides,
      };
    }
    /** A sliding token's plan as the service makes it: window from now, capped by the limit it carries. */
    function slide(token: StoredToken, extra: Partial<CheckPlan> = {}): CheckPlan {
      const at = now();
      const window = token.autoRefresh ?? 0;
      return {
        now: at,
        expiresAt: Math.min(at + window, token.hardExpiresAt ?? Number.POSITIVE_INFINITY),
        touchIfBefore: at - MINUTE,
        ...extra,
      };
    }
    const hardOnly = (extra: Partial<CheckPlan> = {}): CheckPlan => ({
      now: now(),
      expiresAt: null,
      touchIfBefore: now() - MINUTE,
      ...extra,
    });
    async function live(token: StoredToken, plan: CheckPlan): Promise<StoredToken | null> {
      const found = await store.verify(token.id, token.secretHash, plan);
      assert.ok(found === null || !isRevoked(found), 'not revoked');
      return found as StoredToken | null;
    }
    async function listAll(owner: string, limit: number): Promise<StoredToken[]> {
      const tokens: StoredToken[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 1000; pages++) {
        const page: TokenPage = await store.listPage(owner, { cursor, limit });
        assert.ok(page.tokens.length <= limit, 'no more than the page size');
        tokens.push(...page.tokens);
        cursor = page.cursor;
        if (cursor === null) return tokens;
      }
      throw new Error('pages never end');
    }

    test('create then get returns the record as stored; a taken id is refused, keeping the first', async () => {
      const token = record({ label: 'laptop', scopes: ['node:1:r', 'node:2:rw'], lastUsedIp: '192.0.2.1' });
      assert.equal(await store.create(token), true);
      assert.deepEqual(await store.get(token.id), token);
      assert.equal(await store.create({ ...token, user: 'mallory' }), false);
      assert.equal((await store.get(token.id))?.user, 'alice');
    });

    test('get and verify of an unknown id are null', async () => {
      const hash = randomBytes(32).toString('hex');
      assert.equal(await store.get(tokenIdOf(hash)), null);
      assert.equal(await store.verify(tokenIdOf(hash), hash, hardOnly()), null);
    });

    test('an id that is not the hash prefix finds nothing and changes nothing', async () => {
      const token = record({ autoRefresh: 10 * SECOND, expiresAt: now() + 10 * SECOND });
      await store.create(token);
      const other = randomBytes(32).toString('hex');
      assert.equal(await store.verify(token.id, other, slide(token)), null);
      assert.deepEqual(await store.get(token.id), token);
    });

    test('a sliding check sets the planned expiry and writes a due use with its IP', async () => {
      const token = record({ autoRefresh: 10 * SECOND, expiresAt: now() + 10 * SECOND });
      await store.create(token);
      await h.advance(400);
      const plan = slide(token, { ip: '2001:db8::1' });
      const found = await live(token, plan);
      assert.equal(found?.expiresAt, plan.expiresAt);
      assert.equal(found?.lastUsedAt, plan.now);
      assert.equal(found?.lastUsedIp, '2001:db8::1');
      assert.deepEqual(await store.get(token.id), found);
    });

    test('a use is written only when the stored one is at or before touchIfBefore', async () => {
      const token = record({ autoRefresh: 10 * SECOND, expiresAt: now() + 10 * SECOND });
      await store.create(token);
      const first = await live(token, slide(token, { ip: '192.0.2.7' }));
      await h.advance(300);
      // Not due: the expiry moves, the use stays as written.
      const second = await live(
        token,
        slide(token, { touchIfBefore: first!.lastUsedAt! - 1, ip: '192.0.2.8' }),
      );
      assert.equal(second?.lastUsedAt, first?.lastUsedAt);
      assert.equal(second?.lastUsedIp, '192.0.2.7');
      assert.ok(second!.expiresAt > first!.expiresAt);
      // Due exactly at the bound; ip undefined leaves the IP, null clears it.
      const third = await live(token, slide(token, { touchIfBefore: first!.lastUsedAt! }));
      assert.equal(third?.lastUsedAt, now());
      assert.equal(third?.lastUsedIp, '192.0.2.7');
      await h.advance(10);
      const fourth = await live(token, slide(token, { touchIfBefore: now(), ip: null }));
      assert.equal(fourth?.lastUsedIp, null);
    });

    test('a token with only a hard limit keeps its expiry; its use is written only when due', async () => {
      const token = record();
      await store.create(token);
      const first = await live(token, hardOnly());
      assert.equal(first?.expiresAt, token.expiresAt);
      assert.equal(first?.lastUsedAt, now());
      await h.advance(200);
      const second = await live(token, hardOnly({ touchIfBefore: first!.lastUsedAt! - 1 }));
      assert.deepEqual(second, first);
    });

    test('the planned expiry is capped at the stored hard limit, which limit() brought forward', async () => {
      const token = record({
        autoRefresh: 30 * SECOND,
        expiresAt: now() + 30 * SECOND,
        hardExpiresAt: now() + MINUTE,
      });
      await store.create(token);
      assert.equal(await store.limit(token.id, now() + 5 * SECOND), true);
      const found = await live(token, slide(token));
      assert.equal(found?.hardExpiresAt, now() + 5 * SECOND);
      assert.equal(found?.expiresAt, now() + 5 * SECOND);
      // Never back: a later limit changes nothing.
      assert.equal(await store.limit(token.id, now() + MINUTE), true);
      assert.equal((await store.get(token.id))?.hardExpiresAt, now() + 5 * SECOND);
      await h.advance(5 * SECOND);
      assert.equal(await store.get(token.id), null);
      assert.equal(await store.limit(token.id, now() + SECOND), false);
    });

    test('a wrong hash gets the record unchanged: no refresh, no use written', async () => {
      const token = record({ autoRefresh: 10 * SECOND, expiresAt: now() + 10 * SECOND });
      await store.create(token);
      await h.advance(500);
      // Same id (the first 16 digits), another hash.
      const wrong = token.id + randomBytes(24).toString('hex');
      const found = await store.verify(token.id, wrong, slide(token));
      assert.deepEqual(found, token);
      assert.deepEqual(await store.get(token.id), token);
    });

    test('delete revokes at once and leaves a tombstone until min(tombstoneUntil, expiry)', async () => {
      const token = record({
        user: login(),
        expiresAt: now() + 10 * SECOND,
        hardExpiresAt: now() + 10 * SECOND,
      });
      await store.create(token);
      const revoked = await store.delete(token.id, now() + TOMBSTONE_LIFE);
      assert.deepEqual(revoked, token);
      assert.equal(await store.get(token.id), null);
      assert.equal(await store.delete(token.id, now() + TOMBSTONE_LIFE), null);
      const found = await store.verify(token.id, token.secretHash, hardOnly());
      assert.ok(found && isRevoked(found));
      assert.deepEqual(found, { id: token.id, user: token.user, revokedAt: now() });
      assert.deepEqual((await store.listPage(token.user, { cursor: null, limit: 10 })).tokens, []);
      // The id stays taken while the tombstone lives.
      assert.equal(await store.create(token), false);
      await h.advance(10 * SECOND);
      assert.equal(await store.verify(token.id, token.secretHash, hardOnly()), null);
    });

    test('a tombstone ends at tombstoneUntil when that comes first, and no use extends it', async () => {
      const token = record({ autoRefresh: 10 * SECOND, expiresAt: now() + 10 * SECOND, hardExpiresAt: null });
      await store.create(token);
      await store.delete(token.id, now() + 2 * SECOND);
      for (let i = 0; i < 3; i++) {
        await h.advance(500);
        const found = await store.verify(token.id, token.secretHash, slide(token));
        assert.ok(found && isRevoked(found));
      }
      await h.advance(500);
      assert.equal(await store.verify(token.id, token.secretHash, slide(token)), null);
    });

    test('an expired token is gone for every method, and its id can be used again', async () => {
      const token = record({ expiresAt: now() + SECOND, hardExpiresAt: now() + SECOND, user: login() });
      await store.create(token);
      await h.advance(SECOND);
      assert.equal(await store.get(token.id), null);
      assert.equal(await store.verify(token.id, token.secretHash, hardOnly()), null);
      assert.equal(await store.delete(token.id, now() + TOMBSTONE_LIFE), null);
      assert.deepEqual((await store.listPage(token.user, { cursor: null, limit: 10 })).tokens, []);
      const again = { ...token, createdAt: now(), expiresAt: now() + MINUTE, hardExpiresAt: now() + MINUTE };
      assert.equal(await store.create(again), true);
      assert.deepEqual(await store.get(token.id), again);
    });

    test('pages list every live token of one user once, newest first, across ties and revocations', async () => {
      const owner = login();
      const created = now();
      const tokens: StoredToken[] = [];
      for (let i = 0; i < 23; i++) {
        // Ties: three tokens share each creation time.
        const token = record({ user: owner, createdAt: created - Math.floor(i / 3) });
        tokens.push(token);
        await store.create(token);
      }
      await store.create(record({ user: login() }));
      const expected = [...tokens].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
      assert.deepEqual(await listAll(owner, 5), expected);
      // Revoking the token a cursor names does not lose the page after it.
      const first = await store.listPage(owner, { cursor: null, limit: 4 });
      await store.delete(first.tokens[3]!.id, now() + TOMBSTONE_LIFE);
      await store.delete(expected[6]!.id, now() + TOMBSTONE_LIFE);
      const rest: StoredToken[] = [];
      let cursor = first.cursor;
      while (cursor !== null) {
        const page = await store.listPage(owner, { cursor, limit: 4 });
        rest.push(...page.tokens);
        cursor = page.cursor;
      }
      assert.deepEqual(
        rest.map((token) => token.id),
        expected
          .slice(4)
          .filter((_, i) => i !== 2)
          .map((token) => token.id),
      );
      await assert.rejects(store.listPage(owner, { cursor: 'not-a-cursor', limit: 4 }), TypeError);
    });

    test('recordFailure counts in a fixed window from the first failure', async () => {
      if (!store.recordFailure) return;
      const key = `198.51.100.${randomBytes(1)[0]}-${login()}`;
      const first = await store.recordFailure(key, 2 * SECOND);
      assert.deepEqual(first, { count: 1, resetAt: now() + 2 * SECOND });
      await h.advance(SECOND);
      assert.deepEqual(await store.recordFailure(key, 2 * SECOND), { count: 2, resetAt: first.resetAt });
      await h.advance(SECOND);
      assert.deepEqual(await store.recordFailure(key, 2 * SECOND), { count: 1, resetAt: now() + 2 * SECOND });
    });

    test('reserveAttempt grants below the limit; release frees, fail counts; reservations lapse', async () => {
      if (!store.reserveAttempt || !store.releaseAttempt || !store.failAttempt) return;
      const key = `client-${login()}`;
      const a = await store.reserveAttempt(key, 2, 2 * SECOND);
      const b = await store.reserveAttempt(key, 2, 2 * SECOND);
      const c = await store.reserveAttempt(key, 2, 2 * SECOND);
      assert.ok(a.attempt && b.attempt && a.attempt !== b.attempt);
      assert.deepEqual([a.pending, b.pending], [1, 2]);
      assert.deepEqual({ ...c, resetAt: 0 }, { attempt: null, failures: 0, pending: 2, resetAt: 0 });
      await store.releaseAttempt(key, a.attempt);
      assert.deepEqual(await store.failAttempt(key, b.attempt, 2 * SECOND), {
        count: 1,
        resetAt: now() + 2 * SECOND,
      });
      const d = await store.reserveAttempt(key, 2, 2 * SECOND);
      assert.deepEqual(
        { ...d, attempt: d.attempt !== null },
        { attempt: true, failures: 1, pending: 1, resetAt: now() + 2 * SECOND },
      );
      assert.equal((await store.reserveAttempt(key, 2, 2 * SECOND)).attempt, null);
      // Never released: lapses with its window (and so does the failure).
      await h.advance(2 * SECOND);
      const e = await store.reserveAttempt(key, 2, 2 * SECOND);
      assert.deepEqual([e.attempt !== null, e.failures, e.pending], [true, 0, 1]);
      // A lapsed reservation still counts as a failure when it fails.
      assert.equal((await store.failAttempt(key, d.attempt!, 2 * SECOND)).count, 1);
    });

    test('concurrent reservations grant exactly the limit', async () => {
      if (!store.reserveAttempt) return;
      const reserve = store.reserveAttempt.bind(store);
      const key = `burst-${login()}`;
      const all = await Promise.all(Array.from({ length: 40 }, () => reserve(key, 5, 10 * SECOND)));
      assert.equal(all.filter((r) => r.attempt !== null).length, 5);
    });

    test('concurrent checks of one sliding token leave the full window and one written use', async () => {
      const token = record({ autoRefresh: 10 * SECOND, expiresAt: now() + SECOND, hardExpiresAt: null });
      await store.create(token);
      const plan = slide(token);
      const all = await Promise.all(Array.from({ length: 30 }, () => live(token, plan)));
      for (const found of all) assert.equal(found?.expiresAt, plan.expiresAt);
      assert.equal((await store.get(token.id))?.lastUsedAt, plan.now);
    });
  });
}
