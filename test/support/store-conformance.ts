import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isRevoked, type StoredToken, type TokenPage, type TokenStore } from '../../lib/store';
import { tokenIdOf } from '../../lib/token-format';

/**
 * The one suite every token store must pass (as lucia's adapter-test): the memory store, the Redis
 * store, and the Redis store on a Cluster all run it.
 *
 * Time: a store with an injectable clock moves it instantly; Redis expires keys on its own clock,
 * so its harness waits for real. The durations here are short (about a second) for that reason.
 */
export interface ConformanceHarness {
  store: TokenStore;
  /** Moves the store's notion of time forward (fake clock), or waits that long (real Redis). */
  advance(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

const SECOND = 1000;

export function runStoreConformance(name: string, makeHarness: () => Promise<ConformanceHarness>): void {
  describe(`TokenStore conformance: ${name}`, () => {
    let h: ConformanceHarness;
    let store: TokenStore;
    before(async () => {
      h = await makeHarness();
      store = h.store;
    });
    after(async () => {
      await h.cleanup();
    });

    const now = () => store.now?.() ?? Date.now();
    const user = () => `user-${randomBytes(4).toString('hex')}`;
    function record(overrides: Partial<StoredToken> = {}): StoredToken {
      const created = now();
      // As the token service makes them: the id is the first 8 bytes of the hash.
      const secretHash = overrides.secretHash ?? randomBytes(32).toString('hex');
      return {
        id: tokenIdOf(secretHash),
        user: 'alice',
        secretHash,
        label: null,
        scopes: [],
        createdAt: created,
        expiresAt: created + 60 * SECOND,
        hardExpiresAt: created + 60 * SECOND,
        autoRefresh: null,
        lastUsedAt: null,
        lastUsedIp: null,
        ...overrides,
      };
    }
    const touch = { touchInterval: 60 * SECOND };
    /** Every page of a user's listing, `limit` at a time. */
    async function listAll(owner: string, limit = 1000): Promise<StoredToken[]> {
      const tokens: StoredToken[] = [];
      let cursor: string | null = null;
      do {
        const page: TokenPage = await store.listPage(owner, { cursor, limit });
        assert.ok(page.tokens.length <= limit, 'no more than the page size');
        tokens.push(...page.tokens);
        cursor = page.cursor;
      } while (cursor !== null);
      return tokens;
    }
    /** The terms a token's text carries, as the service passes them with every check. */
    const termsOf = (token: StoredToken) => ({
      terms: { autoRefresh: token.autoRefresh, hardExpiresAt: token.hardExpiresAt },
    });
    /** After expiry, verify finds nothing, or (a store that has not forgotten it yet) an expired record. */
    function assertGone(found: StoredToken | null): void {
      assert.ok(found === null || found.expiresAt <= now(), 'expired');
    }
    /** verify(), for tokens that are expected to be live (or gone), not revoked. */
    async function verify(
      id: string,
      secretHash: string,
      options: { touchInterval: number; login?: string; ip?: string },
    ) {
      const found = await store.verify(id, secretHash, options);
      assert.ok(found === null || !isRevoked(found), 'not a tombstone');
      return found as StoredToken | null;
    }

    test('create then get returns the record as stored, without secret in clear', async () => {
      const token = record({ label: 'backup script', scopes: ['node:a1:r', 'node:b2:rw'], user: user() });
      assert.equal(await store.create(token), true);
      const got = await store.get(token.id);
      assert.ok(got);
      assert.deepEqual({ ...got, expiresAt: 0 }, { ...token, expiresAt: 0 });
      assert.ok(Math.abs(got.expiresAt - token.expiresAt) < 2 * SECOND);
    });

    test('create refuses an id that is already taken, keeping the first record', async () => {
      const token = record();
      assert.equal(await store.create(token), true);
      assert.equal(await store.create({ ...token, user: 'mallory', secretHash: 'x' }), false);
      assert.equal((await store.get(token.id))?.user, token.user);
    });

    test('get and verify of an unknown id are null', async () => {
      assert.equal(await store.get('0000000000000000'), null);
      assert.equal(await verify('0000000000000000', 'hash', touch), null);
    });

    test('verify with the right hash refreshes a sliding token to now + window', async () => {
      const token = record({ hardExpiresAt: null, autoRefresh: 2 * SECOND, expiresAt: now() + 2 * SECOND });
      await store.create(token);
      await h.advance(1 * SECOND);
      const verified = await verify(token.id, token.secretHash, touch);
      assert.ok(verified);
      const expected = now() + 2 * SECOND;
      assert.ok(
        Math.abs(verified.expiresAt - expected) < 300,
        `expiresAt ${verified.expiresAt} vs ${expected}`,
      );
      // Past the original expiry, the refreshed token is still there.
      await h.advance(1.5 * SECOND);
      assert.ok(await store.get(token.id));
    });

    test('a sliding window never outlives the hard limit', async () => {
      const start = now();
      const token = record({
        autoRefresh: 60 * SECOND,
        hardExpiresAt: start + 1500,
        expiresAt: start + 1500,
      });
      await store.create(token);
      const verified = await verify(token.id, token.secretHash, touch);
      assert.ok(verified);
      assert.ok(verified.expiresAt <= start + 1500 + 50, 'capped by the hard limit');
      await h.advance(1.8 * SECOND);
      assertGone(await verify(token.id, token.secretHash, touch));
      assert.equal(await store.get(token.id), null);
    });

    test('verify with a wrong hash refreshes nothing (a public id alone keeps nothing alive)', async () => {
      const token = record({ hardExpiresAt: null, autoRefresh: 2 * SECOND, expiresAt: now() + 2 * SECOND });
      await store.create(token);
      await h.advance(1 * SECOND);
      const before = (await store.get(token.id))!.expiresAt;
      const wrong = await verify(token.id, 'not-the-hash', touch);
      // The record may come back (the caller compares hashes), but unrefreshed and untouched.
      if (wrong) {
        assert.ok(Math.abs(wrong.expiresAt - before) < 300);
        assert.equal(wrong.lastUsedAt, null);
      }
      const after = (await store.get(token.id))!;
      assert.ok(Math.abs(after.expiresAt - before) < 300, 'expiry unchanged');
      assert.equal(after.lastUsedAt, null);
      await h.advance(1.5 * SECOND);
      assert.equal(await store.get(token.id), null, 'expired on its original schedule');
    });

    test('verify with the right login refreshes like a Bearer verify', async () => {
      const token = record({
        user: 'alice',
        hardExpiresAt: null,
        autoRefresh: 30 * SECOND,
        expiresAt: now() + SECOND,
      });
      await store.create(token);
      const verified = await verify(token.id, token.secretHash, { ...touch, login: 'alice' });
      assert.ok(verified && verified.expiresAt > now() + 20 * SECOND);
    });

    test('lastUsedAt is written on first use and then at most once per touch interval', async () => {
      const token = record();
      await store.create(token);
      const first = await verify(token.id, token.secretHash, { touchInterval: 1 * SECOND });
      assert.ok(first?.lastUsedAt);
      await h.advance(200);
      const second = await verify(token.id, token.secretHash, { touchInterval: 1 * SECOND });
      assert.equal(second?.lastUsedAt, first.lastUsedAt, 'not rewritten within the interval');
      await h.advance(1 * SECOND);
      const third = await verify(token.id, token.secretHash, { touchInterval: 1 * SECOND });
      assert.ok(third?.lastUsedAt && third.lastUsedAt > first.lastUsedAt, 'rewritten after the interval');
    });

    test('get never refreshes a sliding token', async () => {
      const token = record({ hardExpiresAt: null, autoRefresh: 1500, expiresAt: now() + 1500 });
      await store.create(token);
      await h.advance(800);
      assert.ok(await store.get(token.id));
      await h.advance(900);
      assert.equal(await store.get(token.id), null);
    });

    test('listPage returns live tokens of that user only, newest first', async () => {
      const owner = user();
      const older = record({ user: owner, createdAt: now() - 2000 });
      const newer = record({ user: owner, createdAt: now() - 1000 });
      const shortLived = record({ user: owner, expiresAt: now() + 800, hardExpiresAt: now() + 800 });
      const someoneElse = record({ user: user() });
      for (const token of [older, newer, shortLived, someoneElse]) await store.create(token);
      assert.deepEqual(
        (await listAll(owner)).map((t) => t.id),
        [shortLived.id, newer.id, older.id],
      );
      await h.advance(1200);
      assert.deepEqual(
        (await listAll(owner)).map((t) => t.id),
        [newer.id, older.id],
      );
      assert.deepEqual(await store.listPage(user(), { cursor: null, limit: 10 }), {
        tokens: [],
        cursor: null,
      });
    });

    test('delete revokes a token at once, leaving a tombstone that verify reports as revoked', async () => {
      const token = record();
      await store.create(token);
      assert.equal((await store.delete(token.id))?.id, token.id);
      const found = await store.verify(token.id, token.secretHash, touch);
      assert.ok(found && isRevoked(found), 'verify sees the tombstone');
      assert.equal(found.user, token.user);
      assert.ok(!('secretHash' in found));
      assert.equal(await store.get(token.id), null);
      assert.equal(await store.delete(token.id), null);
      assert.equal(await store.create(token), false, 'a revoked id is never reused');
      assert.deepEqual(
        (await listAll(token.user)).filter((t) => t.id === token.id),
        [],
      );
    });

    test('pages list every token once, in order, across ties, revocations and creations between pages', async () => {
      const owner = user();
      const base = now() - 10 * SECOND;
      // Ties in createdAt (tokens issued in the same millisecond) are ordered by id.
      const created = [0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4].map((offset) =>
        record({ user: owner, createdAt: base + offset }),
      );
      for (const token of created) assert.equal(await store.create(token), true);
      const order = [...created].sort((a, b) =>
        a.createdAt !== b.createdAt ? b.createdAt - a.createdAt : a.id < b.id ? 1 : -1,
      );
      assert.deepEqual(
        (await listAll(owner, 3)).map((t) => t.id),
        order.map((t) => t.id),
      );
      // Between pages: the last token of the first page is revoked, a later one too, and a new
      // token is created; the listing goes on where it was, missing none of the others.
      const first = await store.listPage(owner, { cursor: null, limit: 4 });
      assert.deepEqual(
        first.tokens.map((t) => t.id),
        order.slice(0, 4).map((t) => t.id),
      );
      assert.ok(first.cursor);
      await store.delete(order[3]!.id);
      await store.delete(order[6]!.id);
      await store.create(record({ user: owner, createdAt: now() }));
      const rest: StoredToken[] = [];
      let cursor: string | null = first.cursor;
      while (cursor !== null) {
        const page: TokenPage = await store.listPage(owner, { cursor, limit: 4 });
        rest.push(...page.tokens);
        cursor = page.cursor;
      }
      assert.deepEqual(
        rest.map((t) => t.id),
        order
          .slice(4)
          .filter((_, i) => i !== 2)
          .map((t) => t.id),
      );
    });

    test('revoking page by page, following the cursor, revokes all of one user tokens and nobody else', async () => {
      const owner = user();
      const other = record({ user: user() });
      const mine = Array.from({ length: 7 }, () => record({ user: owner }));
      for (const token of [...mine, other]) await store.create(token);
      const revoked: string[] = [];
      let cursor: string | null = null;
      do {
        const page: TokenPage = await store.listPage(owner, { cursor, limit: 3 });
        for (const token of page.tokens) if (await store.delete(token.id)) revoked.push(token.id);
        cursor = page.cursor;
      } while (cursor !== null);
      assert.deepEqual(revoked.sort(), mine.map((t) => t.id).sort());
      for (const token of mine) assert.equal(await store.get(token.id), null);
      assert.ok(await store.get(other.id));
      assert.deepEqual(await listAll(owner), []);
    });

    test('using a revoked token never extends its tombstone', async () => {
      // A sliding token without a hard limit: a check with its text asks for a full window each time.
      const token = record({ hardExpiresAt: null, autoRefresh: 1000, expiresAt: now() + 1000 });
      await store.create(token);
      await store.delete(token.id);
      await h.advance(600);
      const found = await store.verify(token.id, token.secretHash, { ...touch, ...termsOf(token) });
      assert.ok(found && isRevoked(found), 'still reported as revoked');
      await h.advance(600);
      assert.equal(
        await store.verify(token.id, token.secretHash, { ...touch, ...termsOf(token) }),
        null,
        'gone when the token would have expired',
      );
    });

    test('a limited token expires at its new limit, whatever its text says, and leaves every list then', async () => {
      const owner = user();
      const token = record({
        user: owner,
        hardExpiresAt: null,
        autoRefresh: 60 * SECOND,
        expiresAt: now() + 60 * SECOND,
      });
      await store.create(token);
      assert.equal(await store.limit(token.id, now() + 800), true);
      for (let i = 0; i < 3; i++) {
        const used = await verify(token.id, token.secretHash, { ...touch, ...termsOf(token) });
        assert.ok(used && used.expiresAt <= (used.hardExpiresAt ?? 0), 'within the new limit');
      }
      assert.deepEqual(
        (await listAll(owner)).map((t) => t.id),
        [token.id],
      );
      await h.advance(1000);
      assert.equal(await verify(token.id, token.secretHash, { ...touch, ...termsOf(token) }), null);
      assert.equal(await store.get(token.id), null);
      assert.deepEqual(await listAll(owner), []);
    });

    test('a check of a token past its hard limit extends nothing', async () => {
      const token = record({ autoRefresh: 60 * SECOND, hardExpiresAt: now() + 700, expiresAt: now() + 700 });
      await store.create(token);
      await h.advance(900);
      assertGone(await verify(token.id, token.secretHash, { ...touch, ...termsOf(token) }));
      assert.equal(await store.get(token.id), null);
    });

    test('a tombstone lives no longer than the token would have', async () => {
      const token = record({ expiresAt: now() + 1000, hardExpiresAt: now() + 1000 });
      await store.create(token);
      await store.delete(token.id);
      await h.advance(1300);
      assert.equal(await verify(token.id, token.secretHash, touch), null);
    });

    test('the client IP is recorded with lastUsedAt when given', async () => {
      const token = record();
      await store.create(token);
      const verified = await verify(token.id, token.secretHash, { ...touch, ip: '203.0.113.7' });
      assert.equal(verified?.lastUsedIp, '203.0.113.7');
      assert.equal((await store.get(token.id))?.lastUsedIp, '203.0.113.7');
    });

    test('limit brings the hard limit forward, never back, and the token goes then', async () => {
      const sliding = record({
        hardExpiresAt: null,
        autoRefresh: 60 * SECOND,
        expiresAt: now() + 60 * SECOND,
      });
      await store.create(sliding);
      assert.equal(await store.limit(sliding.id, now() + 1000), true);
      const limited = (await store.get(sliding.id))!;
      assert.ok(limited.hardExpiresAt !== null && limited.hardExpiresAt <= now() + 1000);
      const used = await verify(sliding.id, sliding.secretHash, touch);
      assert.ok(used && used.expiresAt <= now() + 1050, 'a refresh stays within the new limit');
      assert.equal(await store.limit(sliding.id, now() + 60 * SECOND), true);
      assert.ok((await store.get(sliding.id))!.hardExpiresAt! <= now() + 1000, 'never pushed back');
      await h.advance(1300);
      assert.equal(await store.get(sliding.id), null);
      assert.equal(await store.limit(sliding.id, now() + 1000), false);
    });

    test('recordFailure counts in a fixed window from the first failure', async () => {
      // Optional in the contract, but both stores here have it: throttling depends on it.
      assert.equal(typeof store.recordFailure, 'function');
      const record = store.recordFailure!.bind(store);
      const key = `198.51.100.${Math.floor(Math.random() * 250)}-${randomBytes(2).toString('hex')}`;
      const first = await record(key, 1000);
      assert.equal(first.count, 1);
      assert.ok(first.resetAt > now() && first.resetAt <= now() + 1000 + 50);
      assert.equal((await record(key, 1000)).count, 2);
      const third = await record(key, 1000);
      assert.equal(third.count, 3);
      assert.ok(Math.abs(third.resetAt - first.resetAt) < 100, 'the window does not move');
      await h.advance(1300);
      assert.equal((await record(key, 1000)).count, 1, 'a new window');
    });

    test('reserveAttempt grants only below the limit; releaseAttempt frees, failAttempt counts; reservations lapse', async () => {
      // Optional in the contract, as recordFailure: both stores here have them.
      for (const method of ['reserveAttempt', 'releaseAttempt', 'failAttempt'] as const) {
        assert.equal(typeof store[method], 'function', method);
      }
      const reserve = store.reserveAttempt!.bind(store);
      const key = `198.51.100.${Math.floor(Math.random() * 250)}-${randomBytes(2).toString('hex')}`;
      const [first, second] = await Promise.all([reserve(key, 2, 1000), reserve(key, 2, 1000)]);
      assert.ok(first.attempt !== null && second.attempt !== null && first.attempt !== second.attempt);
      const refused = await reserve(key, 2, 1000);
      assert.deepEqual([refused.attempt, refused.failures, refused.pending], [null, 0, 2]);
      assert.equal((await reserve(key, 2, 1000)).pending, 2, 'a refusal reserves nothing');
      await store.releaseAttempt!(key, first.attempt);
      const third = await reserve(key, 2, 1000);
      assert.ok(third.attempt !== null, 'the released place is free again');
      assert.equal(third.failures, 0, 'a release counts nothing');
      const failed = await store.failAttempt!(key, third.attempt, 1000);
      assert.equal(failed.count, 1);
      assert.ok(failed.resetAt > now() && failed.resetAt <= now() + 1000 + 50);
      const full = await reserve(key, 2, 1000);
      assert.deepEqual(
        [full.attempt, full.failures, full.pending],
        [null, 1, 1],
        'a failure and one in flight',
      );
      assert.ok(Math.abs(full.resetAt - failed.resetAt) < 100);
      // The second attempt is never released: it lapses with its window, as the failure does.
      await h.advance(1300);
      const fresh = await reserve(key, 2, 1000);
      assert.ok(fresh.attempt !== null);
      assert.deepEqual([fresh.failures, fresh.pending], [0, 1]);
      await store.releaseAttempt!(key, fresh.attempt);
      assert.equal((await reserve(key, 1, 1000)).pending, 1, 'nothing left but the new reservation');
    });

    test('concurrent verifies of one sliding token leave the full window', async () => {
      const token = record({ hardExpiresAt: null, autoRefresh: 30 * SECOND, expiresAt: now() + SECOND });
      await store.create(token);
      const results = await Promise.all(
        Array.from({ length: 100 }, () => verify(token.id, token.secretHash, touch)),
      );
      assert.ok(results.every((r) => r !== null));
      const stored = (await store.get(token.id))!;
      assert.ok(stored.expiresAt >= now() + 29 * SECOND);
    });
  });
}
