// The conformance suite must catch a broken store: each store here wraps a MemoryTokenStore and
// breaks one rule of the contract, and the suite must report the cases that rule is for as failed;
// the memory store itself must fail none.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryTokenStore } from '../adapters/memory';
import { compareExpiring, formatExpiringCursor, parseExpiringCursor } from '../lib/expiring-page';
import { isRevoked, type RecentIp, type StoredToken, type TokenStore } from '../lib/store';
import { checkTokenStore, type StoreHarness } from '../testing/index';

/** A harness around a store made from a fresh MemoryTokenStore on a fake clock. */
function harnessOf(wrap: (inner: MemoryTokenStore) => TokenStore): () => Promise<StoreHarness> {
  return async () => {
    let time = Date.UTC(2026, 0, 1);
    const inner = new MemoryTokenStore({ now: () => time });
    return {
      store: wrap(inner),
      advance: async (ms) => {
        time += ms;
      },
      cleanup: async () => {},
    };
  };
}

/** The memory store's methods, bound, with some replaced. */
function broken(inner: MemoryTokenStore, methods: Partial<TokenStore>): TokenStore {
  const store: TokenStore = {
    create: (token, options) => inner.create(token, options),
    verify: (id, hash, plan) => inner.verify(id, hash, plan),
    get: (id) => inner.get(id),
    listPage: (user, page) => inner.listPage(user, page),
    delete: (id, until) => inner.delete(id, until),
    limit: (id, at) => inner.limit(id, at),
    listExpiring: (page) => inner.listExpiring(page),
    now: () => inner.now(),
    recordFailure: (key, window) => inner.recordFailure(key, window),
    reserveAttempt: (key, limit, window) => inner.reserveAttempt(key, limit, window),
    releaseAttempt: (key, attempt) => inner.releaseAttempt(key, attempt),
    failAttempt: (key, attempt, window) => inner.failAttempt(key, attempt, window),
  };
  return { ...store, ...methods };
}

/**
 * The memory store, whose recent IPs are a list of its own that `merge` keeps: the memory store
 * decides when a use is written, and a written use from an address goes through `merge`.
 */
function ownRecentIps(
  inner: MemoryTokenStore,
  merge: (list: RecentIp[], ip: string, at: number) => RecentIp[],
): TokenStore {
  const lists = new Map<string, RecentIp[]>();
  return broken(inner, {
    verify: async (id, hash, plan) => {
      const before = await inner.get(id);
      const found = await inner.verify(id, hash, plan);
      if (!found || isRevoked(found)) return found;
      const written = found.lastUsedAt === plan.now && before?.lastUsedAt !== plan.now;
      if (written && typeof plan.ip === 'string')
        lists.set(id, merge(lists.get(id) ?? [], plan.ip, plan.now));
      return { ...found, recentIps: lists.get(id) ?? [] };
    },
    get: async (id) => {
      const found = await inner.get(id);
      return found && { ...found, recentIps: lists.get(id) ?? [] };
    },
  });
}

const BROKEN_STORES: { name: string; make: (inner: MemoryTokenStore) => TokenStore; caught: string[] }[] = [
  {
    // Applies the plan to whatever record has the id: a public id alone writes a use.
    name: 'ignores the hash',
    make: (inner) =>
      broken(inner, {
        verify: async (id, hash, plan) => {
          const record = await inner.get(id);
          return inner.verify(id, record?.secretHash.startsWith(id) ? record.secretHash : hash, plan);
        },
      }),
    caught: [
      'verify with a wrong hash (same id) writes no use, and moves no expiry past the plan',
      'verify with a wrong hash (same id) on a limited token writes no use and stays within the limit',
    ],
  },
  {
    name: 'never refreshes',
    make: (inner) =>
      broken(inner, { verify: (id, hash, plan) => inner.verify(id, hash, { ...plan, expiresAt: null }) }),
    caught: [
      "verify moves a sliding token's expiry to plan.expiresAt",
      'parallel verifies of a sliding token leave its full window',
    ],
  },
  {
    // Revokes by forgetting: verify of a revoked token answers null, as for one never issued.
    name: 'forgets tombstones',
    make: (inner) =>
      broken(inner, {
        verify: async (id, hash, plan) => {
          const found = await inner.verify(id, hash, plan);
          return found && isRevoked(found) ? null : found;
        },
      }),
    caught: [
      'delete revokes at once, leaving a tombstone that verify reports, without secret material',
      'verify never extends a tombstone, with the right hash or a wrong one',
      'a delete racing verifies: once it resolves, verify never returns the live record',
    ],
  },
  {
    // Its listing is by page position alone: every user's tokens show in every user's first page.
    name: "lists other users' tokens",
    make: (inner) => {
      const users = new Set<string>();
      return broken(inner, {
        create: (token, options) => {
          users.add(token.user);
          return inner.create(token, options);
        },
        listPage: async (user, page) => {
          const own = await inner.listPage(user, page);
          if (page.cursor !== null) return own;
          const others = await Promise.all(
            [...users].filter((other) => other !== user).map((other) => inner.listPage(other, page)),
          );
          return { tokens: [...own.tokens, ...others.flatMap((found) => found.tokens)], cursor: own.cursor };
        },
      });
    },
    caught: [
      "listPage lists that user's live tokens only, newest first",
      'pages list every token once, in order, across ties, revocations and creations between pages',
      "revoking page by page, following the cursor, revokes all of one user's tokens and nobody else's",
    ],
  },
  {
    // Refreshes to the plan's expiry without capping it at the record's hard limit, which limit()
    // may have brought forward: a limited token's use reports it live past its new limit.
    name: 'lets expiry overshoot the hard limit',
    make: (inner) =>
      broken(inner, {
        verify: async (id, hash, plan) => {
          const found = await inner.verify(id, hash, plan);
          return found && !isRevoked(found) && plan.expiresAt !== null
            ? { ...found, expiresAt: plan.expiresAt }
            : found;
        },
      }),
    caught: [
      'verify caps plan.expiresAt at a hard limit that limit() brought forward',
      'a limit racing verifies: after it resolves, no use keeps the token past the new limit',
    ],
  },
  {
    // Counts the user's live tokens, then creates, in two steps: creates racing at the limit all
    // count below it, and all get in.
    name: 'counts, then creates',
    make: (inner) =>
      broken(inner, {
        create: async (token, options) => {
          const max = options?.maxLiveTokens;
          if (max !== undefined) {
            const page = await inner.listPage(token.user, { cursor: null, limit: max });
            if (page.tokens.length >= max) return 'over-limit';
          }
          return inner.create(token);
        },
      }),
    caught: [
      '200 creates racing at 5 below maxLiveTokens: exactly 5 are created, and the user then has exactly the limit',
    ],
  },
  {
    name: 'keeps 6 recent IPs',
    make: (inner) =>
      ownRecentIps(inner, (list, ip, at) =>
        [{ ip, lastSeenAt: at }, ...list.filter((entry) => entry.ip !== ip)].slice(0, 6),
      ),
    caught: [
      'verify keeps the 5 most recent distinct IPs of written uses, newest first, and reports each added one',
      'parallel verifies from different IPs: none is lost to another, and the rate rule writes one',
    ],
  },
  {
    name: 'keeps recent IPs oldest first',
    make: (inner) =>
      ownRecentIps(inner, (list, ip, at) =>
        [...list.filter((entry) => entry.ip !== ip), { ip, lastSeenAt: at }].slice(-5),
      ),
    caught: [
      'verify keeps the 5 most recent distinct IPs of written uses, newest first, and reports each added one',
      'verify moves a known IP to the front with its new time, without reporting it added',
    ],
  },
  {
    name: 'keeps a known IP twice',
    make: (inner) => ownRecentIps(inner, (list, ip, at) => [{ ip, lastSeenAt: at }, ...list].slice(0, 5)),
    caught: ['verify moves a known IP to the front with its new time, without reporting it added'],
  },
  {
    // Drops the addresses the service kept waiting: one seen within a second of a write is never recorded.
    name: 'ignores plan.pendingIps',
    make: (inner) =>
      broken(inner, {
        verify: (id, hash, plan) => inner.verify(id, hash, { ...plan, pendingIps: undefined }),
      }),
    caught: [
      'verify merges plan.pendingIps into recentIps with the next written use, whatever its cause, and reports those added',
      'parallel verifies carrying pending IPs: the one that writes puts them all on record, reported once',
    ],
  },
  {
    // Writes every use from a new address at once: an attacker rotating addresses writes at will.
    name: 'ignores the new-IP rate rule',
    make: (inner) =>
      broken(inner, {
        verify: (id, hash, plan) =>
          inner.verify(id, hash, typeof plan.ip === 'string' ? { ...plan, newIpIfBefore: plan.now } : plan),
      }),
    caught: [
      'verify writes a new IP at once, but not before plan.newIpIfBefore; a known IP waits for touchIfBefore',
      'parallel verifies from different IPs: none is lost to another, and the rate rule writes one',
    ],
  },
  {
    // Keeps its own index by hard limit, and forgets to take a revoked token out of it: a revoked
    // token still gets its expiry notice.
    name: 'keeps revoked tokens in its index by hard limit',
    make: (inner) => {
      const index = new Map<string, StoredToken>();
      return broken(inner, {
        create: async (token, options) => {
          const outcome = await inner.create(token, options);
          if (outcome === 'created') index.set(token.id, token);
          return outcome;
        },
        limit: async (id, at) => {
          const limited = await inner.limit(id, at);
          const record = await inner.get(id);
          if (record) index.set(id, record);
          return limited;
        },
        listExpiring: async (page) => {
          const after = page.cursor === null ? null : parseExpiringCursor(page.cursor);
          const due = [...index.values()]
            .filter((token) => token.hardExpiresAt !== null && token.hardExpiresAt <= page.until)
            .filter((token) => token.expiresAt > inner.now())
            .map((token) => ({ ...token, hardExpiresAt: token.hardExpiresAt! }))
            .filter((token) => after === null || compareExpiring(token, after) > 0)
            .sort(compareExpiring);
          const tokens = due.slice(0, page.limit);
          const last = tokens.at(-1);
          return { tokens, cursor: due.length > page.limit && last ? formatExpiringCursor(last) : null };
        },
      });
    },
    caught: [
      "listExpiring lists every user's live tokens whose hard limit is within the window, soonest first, and no others",
      'listExpiring pages list every expiring token once, in order, across ties and revocations between pages',
      'a rotation: the new token is listed at the same hard limit, the old one at its overlap’s end or no more',
    ],
  },
];

test('the memory store passes every case', async () => {
  const report = await checkTokenStore(harnessOf((inner) => inner));
  assert.deepEqual(report.failed, []);
  assert.deepEqual(report.skipped, []);
  assert.ok(report.passed.length >= 25, `${report.passed.length} cases passed`);
});

for (const store of BROKEN_STORES) {
  test(`the store that ${store.name} fails the suite`, async () => {
    const report = await checkTokenStore(harnessOf(store.make));
    const failed = report.failed.map((failure) => failure.name);
    for (const name of store.caught)
      assert.ok(failed.includes(name), `caught by: ${name} (failed: ${failed.join('; ')})`);
    for (const failure of report.failed)
      assert.ok(failure.error instanceof assert.AssertionError, `${failure.name}: an assertion`);
  });
}

test('a store that hangs fails the case it hangs in, within the case timeout', async () => {
  const hanging = harnessOf((inner) => broken(inner, { get: () => new Promise(() => {}) }));
  const name = 'create then get returns the record as stored';
  const report = await checkTokenStore(hanging, { cases: [name], caseTimeout: 100 });
  assert.deepEqual(report.passed, []);
  assert.deepEqual(
    report.failed.map((failure) => failure.name),
    [name],
  );
  assert.match(String(report.failed[0]!.error), /no answer within 100 ms/);
});
