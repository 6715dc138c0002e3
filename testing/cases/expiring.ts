import assert from 'node:assert/strict';
import { compareExpiring, formatExpiringCursor } from '../../lib/expiring-page';
import type { StoredToken, TokenStore } from '../../lib/store';
import { type CaseContext, type ConformanceCase, SECOND, SLACK } from '../harness';

const hasListExpiring = (store: TokenStore) => store.listExpiring !== undefined;

/**
 * Every page of the expiring listing up to `until`, `limit` at a time: the ids of `mine`, in the
 * order listed. The listing spans every user, and the store may be shared with other cases (see
 * `StoreHarness`): a case looks at its own tokens, and checks of every token listed that it is in
 * the window.
 */
async function listExpiringAll(
  t: CaseContext,
  mine: StoredToken[],
  until: number,
  limit = 1000,
): Promise<string[]> {
  const own = new Set(mine.map((token) => token.id));
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await t.store.listExpiring!({ until, cursor, limit });
    assert.ok(page.tokens.length <= limit, 'a page holds no more than its limit');
    for (const token of page.tokens) {
      assert.ok(token.hardExpiresAt !== null && token.hardExpiresAt <= until, `${token.id} is in the window`);
    }
    ids.push(...page.tokens.map((token) => token.id).filter((id) => own.has(id)));
    cursor = page.cursor;
    assert.ok(++pages <= 10_000, 'the listing ends');
  } while (cursor !== null);
  return ids;
}

const soonestFirst = (tokens: StoredToken[]) =>
  [...tokens]
    .sort((a, b) =>
      compareExpiring({ ...a, hardExpiresAt: a.hardExpiresAt! }, { ...b, hardExpiresAt: b.hardExpiresAt! }),
    )
    .map((token) => token.id);

/** listExpiring (optional): every user's tokens whose hard limit is near, soonest first, by an index. */
export const expiringCases: ConformanceCase[] = [
  {
    name: "listExpiring lists every user's live tokens whose hard limit is within the window, soonest first, and no others",
    appliesTo: hasListExpiring,
    async run(t) {
      const [ann, bob, cyd] = [t.user(), t.user(), t.user()];
      const inWindow = [
        t.record({ hard: 40 * SECOND }, { user: ann }),
        t.record({ hard: 20 * SECOND }, { user: bob }),
        t.record({ window: 60 * SECOND, hard: 30 * SECOND }, { user: cyd }),
        t.record({ hard: 50 * SECOND }, { user: ann }),
      ];
      const outOfWindow = t.record({ hard: 3600 * SECOND }, { user: bob });
      const slidingOnly = t.record({ window: 60 * SECOND, hard: null }, { user: cyd });
      const revoked = t.record({ hard: 25 * SECOND }, { user: cyd });
      const expired = t.record({ hard: 700 }, { user: ann });
      // Its window ends long before its hard limit: expired, while its hard limit is in the window.
      const idle = t.record({ window: 700, hard: 45 * SECOND }, { user: bob });
      await t.create(...inWindow, outOfWindow, slidingOnly, revoked, expired, idle);
      assert.ok(await t.store.delete(revoked.id, t.now() + 60 * SECOND), 'revoked');
      await t.advance(900);
      const until = t.now() + 60 * SECOND;
      const all = [...inWindow, outOfWindow, slidingOnly, revoked, expired, idle];
      assert.deepEqual(await listExpiringAll(t, all, until), soonestFirst(inWindow));
      const page = await t.store.listExpiring!({ until, cursor: null, limit: 1000 });
      const listed = page.tokens.find((token) => token.id === inWindow[0]!.id);
      assert.ok(listed, 'listed');
      assert.deepEqual(
        { ...listed, expiresAt: 0 },
        { ...inWindow[0]!, expiresAt: 0 },
        'the record as stored',
      );
      assert.ok(Math.abs(listed.expiresAt - inWindow[0]!.expiresAt) <= SLACK, 'its expiry');
      // The window's end is inclusive: a hard limit at `until` is in it, one a millisecond after not.
      const edge = inWindow[3]!.hardExpiresAt!;
      assert.ok((await listExpiringAll(t, all, edge)).includes(inWindow[3]!.id), 'a hard limit at the end');
      assert.ok(!(await listExpiringAll(t, all, edge - 1)).includes(inWindow[3]!.id), 'one just after');
    },
  },
  {
    name: 'listExpiring pages list every expiring token once, in order, across ties and revocations between pages',
    appliesTo: hasListExpiring,
    async run(t) {
      const users = [t.user(), t.user(), t.user()];
      const base = t.now() + 30 * SECOND;
      // Ties in the hard limit (tokens issued with the same limit) are ordered by id.
      const tokens = [0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4].map((offset, i) =>
        t.record({}, { user: users[i % 3]!, hardExpiresAt: base + offset, expiresAt: base + offset }),
      );
      const later = t.record({ hard: 3600 * SECOND }, { user: users[0]! });
      await t.create(...tokens, later);
      const order = soonestFirst(tokens);
      const until = base + 10;
      for (const limit of [1, 3, 4, 1000])
        assert.deepEqual(await listExpiringAll(t, [...tokens, later], until, limit), order);
      // Between pages: the last token of the first page is revoked, and a later one; the listing
      // goes on where it was, missing none of the others.
      // The first page starts at this case's first token, from a cursor just before it.
      const start = formatExpiringCursor({ hardExpiresAt: base - 1, id: 'f'.repeat(16) });
      const first = await t.store.listExpiring!({ until, cursor: start, limit: 4 });
      assert.deepEqual(
        first.tokens.map((token) => token.id),
        order.slice(0, 4),
      );
      assert.ok(first.cursor, 'a next page');
      await t.store.delete(order[3]!, t.now() + 60 * SECOND);
      await t.store.delete(order[6]!, t.now() + 60 * SECOND);
      const rest: string[] = [];
      let cursor: string | null = first.cursor;
      while (cursor !== null) {
        const page = await t.store.listExpiring!({ until, cursor, limit: 4 });
        rest.push(...page.tokens.map((token) => token.id).filter((id) => order.includes(id)));
        cursor = page.cursor;
      }
      assert.deepEqual(
        rest,
        order.slice(4).filter((id) => id !== order[6]),
      );
    },
  },
  {
    name: 'a hard limit brought forward by limit() moves the token into the window, and to its new place',
    appliesTo: hasListExpiring,
    async run(t) {
      const owner = t.user();
      const far = t.record({ hard: 3600 * SECOND }, { user: owner });
      const slidingOnly = t.record({ window: 60 * SECOND, hard: null }, { user: owner });
      const near = t.record({ hard: 40 * SECOND }, { user: t.user() });
      const nearer = t.record({ hard: 50 * SECOND }, { user: t.user() });
      await t.create(far, slidingOnly, near, nearer);
      const until = t.now() + 60 * SECOND;
      const all = [far, slidingOnly, near, nearer];
      assert.deepEqual(await listExpiringAll(t, all, until), [near.id, nearer.id]);
      assert.equal(await t.store.limit(far.id, t.now() + 30 * SECOND), true);
      assert.equal(await t.store.limit(slidingOnly.id, t.now() + 45 * SECOND), true);
      assert.equal(await t.store.limit(nearer.id, t.now() + 20 * SECOND), true);
      assert.deepEqual(await listExpiringAll(t, all, until), [nearer.id, far.id, near.id, slidingOnly.id]);
      const limited = (await t.store.listExpiring!({ until, cursor: null, limit: 1000 })).tokens.filter(
        (token) => all.some((mine) => mine.id === token.id),
      );
      assert.equal(limited.length, 4);
      assert.deepEqual(
        limited.map((token) => token.hardExpiresAt),
        await Promise.all(limited.map(async (token) => (await t.store.get(token.id))!.hardExpiresAt)),
        'listed with its new hard limit',
      );
      // Never pushed back: a later limit leaves it where it is.
      assert.equal(await t.store.limit(nearer.id, t.now() + 3600 * SECOND), true);
      assert.deepEqual(await listExpiringAll(t, all, until), [nearer.id, far.id, near.id, slidingOnly.id]);
    },
  },
  {
    name: 'a rotation: the new token is listed at the same hard limit, the old one at its overlap’s end or no more',
    appliesTo: hasListExpiring,
    async run(t) {
      const owner = t.user();
      const overlapped = t.record({ hard: 40 * SECOND }, { user: owner });
      const replaced = t.record({ window: 60 * SECOND, hard: 50 * SECOND }, { user: owner });
      await t.create(overlapped, replaced);
      // What the service does: a new token with the old terms, then the old one limited or revoked.
      const successor = (old: StoredToken) =>
        t.record({}, { user: owner, hardExpiresAt: old.hardExpiresAt, expiresAt: old.expiresAt });
      const [first, second] = [successor(overlapped), successor(replaced)];
      await t.create(first, second);
      assert.equal(await t.store.limit(overlapped.id, t.now() + 10 * SECOND), true);
      assert.ok(await t.store.delete(replaced.id, t.now() + 60 * SECOND));
      const until = t.now() + 60 * SECOND;
      const all = [overlapped, replaced, first, second];
      assert.deepEqual(await listExpiringAll(t, all, until), [overlapped.id, first.id, second.id]);
    },
  },
];
