import assert from 'node:assert/strict';
import type { StoredToken, TokenPage } from '../../lib/store';
import type { ConformanceCase } from '../harness';

const newestFirst = (a: StoredToken, b: StoredToken) =>
  a.createdAt !== b.createdAt ? b.createdAt - a.createdAt : a.id < b.id ? 1 : -1;

/** listPage: one user's live tokens, newest first, in pages whose cursors stay valid. */
export const listingCases: ConformanceCase[] = [
  {
    name: "listPage lists that user's live tokens only, newest first",
    async run(t) {
      const owner = t.user();
      const older = t.record({}, { user: owner, createdAt: t.now() - 2000 });
      const newer = t.record({}, { user: owner, createdAt: t.now() - 1000 });
      const shortLived = t.record({ hard: 2000 }, { user: owner });
      const someoneElse = t.record({}, { user: t.user() });
      await t.create(older, newer, shortLived, someoneElse);
      assert.deepEqual(
        (await t.listAll(owner)).map((token) => token.id),
        [shortLived.id, newer.id, older.id],
      );
      await t.advance(2300);
      assert.deepEqual(
        (await t.listAll(owner)).map((token) => token.id),
        [newer.id, older.id],
        'an expired token is listed no more',
      );
      assert.deepEqual(await t.store.listPage(t.user(), { cursor: null, limit: 10 }), {
        tokens: [],
        cursor: null,
      });
    },
  },
  {
    name: 'pages list every token once, in order, across ties, revocations and creations between pages',
    async run(t) {
      const owner = t.user();
      const base = t.now() - 10_000;
      // Ties in createdAt (tokens issued in the same millisecond) are ordered by id.
      const created = [0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4].map((offset) =>
        t.record({}, { user: owner, createdAt: base + offset }),
      );
      await t.create(...created, t.record({}, { user: t.user(), createdAt: base + 2 }));
      const order = [...created].sort(newestFirst);
      assert.deepEqual(
        (await t.listAll(owner, 3)).map((token) => token.id),
        order.map((token) => token.id),
      );
      // Between pages: the last token of the first page is revoked, a later one too, and a new token
      // is created; the listing goes on where it was, missing none of the others.
      const first = await t.store.listPage(owner, { cursor: null, limit: 4 });
      assert.deepEqual(
        first.tokens.map((token) => token.id),
        order.slice(0, 4).map((token) => token.id),
      );
      assert.ok(first.cursor, 'a next page');
      await t.store.delete(order[3]!.id, t.now() + 60_000);
      await t.store.delete(order[6]!.id, t.now() + 60_000);
      await t.create(t.record({}, { user: owner, createdAt: t.now() }));
      const rest: StoredToken[] = [];
      let cursor: string | null = first.cursor;
      while (cursor !== null) {
        const page: TokenPage = await t.store.listPage(owner, { cursor, limit: 4 });
        rest.push(...page.tokens);
        cursor = page.cursor;
      }
      assert.deepEqual(
        rest.map((token) => token.id),
        order
          .slice(4)
          .filter((_, i) => i !== 2)
          .map((token) => token.id),
      );
    },
  },
  {
    name: "revoking page by page, following the cursor, revokes all of one user's tokens and nobody else's",
    async run(t) {
      const owner = t.user();
      const other = t.record({}, { user: t.user() });
      const mine = Array.from({ length: 7 }, () => t.record({}, { user: owner }));
      await t.create(...mine, other);
      const revoked: string[] = [];
      let cursor: string | null = null;
      do {
        const page: TokenPage = await t.store.listPage(owner, { cursor, limit: 3 });
        for (const token of page.tokens) {
          assert.equal(token.user, owner, 'only the owner’s tokens');
          if (await t.store.delete(token.id, t.now() + 60_000)) revoked.push(token.id);
        }
        cursor = page.cursor;
      } while (cursor !== null);
      assert.deepEqual(revoked.sort(), mine.map((token) => token.id).sort());
      for (const token of mine) assert.equal(await t.store.get(token.id), null);
      assert.ok(await t.store.get(other.id), 'the other user’s token stays');
      assert.deepEqual(await t.listAll(owner), []);
    },
  },
];
