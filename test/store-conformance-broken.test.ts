// The conformance suite must catch a broken store: each store here wraps a MemoryTokenStore and
// breaks one rule of the contract, and the suite must report the cases that rule is for as failed;
// the memory store itself must fail none.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryTokenStore } from '../adapters/memory';
import type { AttemptStore } from '../lib/attempt-store';
import type { InvalidationChannel } from '../lib/cache-invalidation';
import { isRevoked } from '../lib/check/token-checker';
import { compareExpiring, formatExpiringCursor, parseExpiringCursor } from '../lib/expiring-page';
import type { RecentIp, StoredToken, TokenStore } from '../lib/store';
import { checkTokenStore, type StoreHarness } from '../testing/index';

/** The store's time: one clock, and timers that run only as the harness moves it (no real waits). */
class FakeTime {
  now = Date.UTC(2026, 0, 1);
  #timers: { at: number; run: () => Promise<unknown> }[] = [];

  later(ms: number, run: () => Promise<unknown>): void {
    this.#timers.push({ at: this.now + ms, run });
  }

  /** Moves the clock by `ms`, running each timer due on the way at its own time. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (next === undefined || next.at > end) break;
      this.#timers.shift();
      this.now = next.at;
      await next.run();
    }
    this.now = end;
  }

  /** Runs every timer now, in order, without moving the clock. */
  async flush(): Promise<void> {
    this.#timers.sort((a, b) => a.at - b.at);
    for (const timer of this.#timers.splice(0)) await timer.run();
  }

  /** Forgets every timer not yet run. */
  cancel(): void {
    this.#timers = [];
  }
}

/** What a stand-in gives its harness: a store, and perhaps the harness's optional parts. */
type StandIn = TokenStore | (Omit<StoreHarness, 'advance' | 'cleanup'> & { store: TokenStore });

/** A harness around a store made from a fresh MemoryTokenStore on a fake clock. */
function harnessOf(wrap: (inner: MemoryTokenStore, time: FakeTime) => StandIn): () => Promise<StoreHarness> {
  return async () => {
    const time = new FakeTime();
    const inner = new MemoryTokenStore({ now: () => time.now });
    const made = wrap(inner, time);
    return {
      ...('store' in made ? made : { store: made }),
      advance: (ms) => time.advance(ms),
      cleanup: async () => {},
    };
  };
}

/** The memory store's methods, bound, with some replaced. */
function broken(
  inner: MemoryTokenStore,
  methods: Partial<TokenStore & AttemptStore>,
): TokenStore & AttemptStore {
  const store: TokenStore & AttemptStore = {
    create: (token, options) => inner.create(token, options),
    verify: (id, hash, plan) => inner.verify(id, hash, plan),
    get: (id) => inner.get(id),
    listPage: (user, page) => inner.listPage(user, page),
    delete: (id, until) => inner.delete(id, until),
    limit: (id, at) => inner.limit(id, at),
    listExpiring: (page) => inner.listExpiring(page),
    listDescendants: (id, limit) => inner.listDescendants(id, limit),
    now: () => inner.now(),
    reserveAttempt: (key, limit, window) => inner.reserveAttempt(key, limit, window),
    releaseAttempt: (key, attempt) => inner.releaseAttempt(key, attempt),
    failAttempt: (key, attempt, window) => inner.failAttempt(key, attempt, window),
  };
  return { ...store, ...methods };
}

interface Subscriber {
  onIds: (ids: string[]) => void;
  onHealth: (healthy: boolean) => void;
}

/**
 * An invalidation channel between two processes, in one: a subscriber here hears a message before
 * `publish` resolves; one elsewhere in a later turn of the event loop, as over a network, where
 * `network` decides what happens to the n-th message (`send` delivers it).
 */
class TwoProcessChannel {
  readonly #subscribers = { here: new Set<Subscriber>(), elsewhere: new Set<Subscriber>() };
  #sent = 0;

  constructor(
    readonly network: (n: number, send: () => void) => void = (_, send) => void setImmediate(send),
  ) {}

  side(where: 'here' | 'elsewhere'): InvalidationChannel {
    const subscribers = this.#subscribers[where];
    return {
      publish: async (ids) => {
        for (const subscriber of this.#subscribers.here) subscriber.onIds([...ids]);
        const elsewhere = [...this.#subscribers.elsewhere];
        this.network(++this.#sent, () => {
          for (const subscriber of elsewhere) subscriber.onIds([...ids]);
        });
      },
      subscribe: (onIds, onHealth) => {
        const subscriber = { onIds, onHealth };
        subscribers.add(subscriber);
        onHealth(true);
        return {
          close: async () => {
            subscribers.delete(subscriber);
          },
        };
      },
    };
  }

  /**
   * Every subscription's connection drops, and comes back in the next turn of the event loop;
   * `silently`, without a word to its subscribers.
   */
  async drop(silently = false): Promise<void> {
    const all = [...this.#subscribers.here, ...this.#subscribers.elsewhere];
    if (!silently) for (const subscriber of all) subscriber.onHealth(false);
    setImmediate(() => {
      for (const subscriber of all) subscriber.onHealth(true);
    });
  }
}

/** The memory store with a two-process channel on `network`, and the harness's side of it. */
function withChannel(
  network?: (n: number, send: () => void) => void,
  silentDrops = false,
): (inner: MemoryTokenStore) => StandIn {
  return (inner) => {
    const channel = new TwoProcessChannel(network);
    return {
      store: broken(inner, { invalidations: channel.side('here') }),
      remoteChannel: async () => channel.side('elsewhere'),
      dropSubscriptions: () => channel.drop(silentDrops),
    };
  };
}

// The channel stand-ins are checked against a bound of their own, short, so that the delayed one
// costs little real time.
const CHANNEL_BOUND = 200;

/**
 * A "replicated" store: a primary and a replica, two memory stores on one clock, where the replica
 * applies each write 40 ms after the primary (on the fake timers). Reads go to the primary.
 * `confirmed` says whether `delete` and `limit` wait until the replica has them, or resolve at once.
 */
function replicated(confirmed: boolean): (inner: MemoryTokenStore, time: FakeTime) => StandIn {
  return (primary, time) => {
    const replica = new MemoryTokenStore({ now: () => time.now });
    const replicate = (write: (store: MemoryTokenStore) => Promise<unknown>) =>
      time.later(40, () => write(replica));
    const acknowledged = () => (confirmed ? time.flush() : Promise.resolve());
    const store: TokenStore = broken(primary, {
      revocationWait: 100,
      create: async (token, options) => {
        const outcome = await primary.create(token, options);
        if (outcome === 'created') replicate((to) => to.create(token));
        return outcome;
      },
      verify: async (id, hash, plan) => {
        const found = await primary.verify(id, hash, plan);
        replicate((to) => to.verify(id, hash, plan));
        return found;
      },
      delete: async (id, until) => {
        const revoked = await primary.delete(id, until);
        replicate((to) => to.delete(id, until));
        await acknowledged();
        return revoked;
      },
      limit: async (id, at) => {
        const limited = await primary.limit(id, at);
        replicate((to) => to.limit(id, at));
        await acknowledged();
        return limited;
      },
    });
    return {
      store,
      // The primary is lost, and the writes still on their way to the replica with it.
      failover: async () => {
        time.cancel();
        return replica;
      },
    };
  };
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

const CHANNEL_CASES = {
  here: 'invalidations: publish reaches every subscriber of this process before it resolves, in order',
  elsewhere:
    'invalidations: every message reaches every subscriber of another process within the bound, in order',
  reconnect:
    'invalidations: a subscription whose connection drops says so at once, and hears every message once back',
};
const FAILOVER_CASE =
  'failover: a delete or limit that resolved still holds once the primary is lost (revocationWait)';

const BROKEN_STORES: {
  name: string;
  make: (inner: MemoryTokenStore, time: FakeTime) => StandIn;
  caught: string[];
  /** What the failure of each case caught says: the rule broken. */
  says?: RegExp;
}[] = [
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
  {
    // Keeps ancestors in its records, but no index of descendants: a revoked token's children live on.
    name: 'forgets the index of descendants',
    make: (inner) => broken(inner, { listDescendants: async () => [] }),
    caught: [
      "listDescendants lists each ancestor's live descendants, whoever they belong to, up to the limit",
      'from the moment get finds a descendant, listDescendants lists it (the index is written first)',
      'an entry goes with its descendant (revoked or expired), not with its ancestor',
      "revoking a token through the service revokes its family, and a revoked token's child is refused",
    ],
  },
  {
    // An index of its own, written once the record exists: a child made while its parent is being
    // revoked could be missed by the revocation's listing, and outlive it.
    name: 'writes the index of descendants after the record',
    make: (inner) => {
      const index = new Map<string, Set<string>>();
      return broken(inner, {
        create: async (token, options) => {
          const outcome = await inner.create(token, options);
          await new Promise(setImmediate);
          if (outcome === 'created') {
            for (const ancestor of token.ancestorIds ?? [])
              index.set(ancestor, (index.get(ancestor) ?? new Set<string>()).add(token.id));
          }
          return outcome;
        },
        listDescendants: async (id, limit) => {
          const ids = [...(index.get(id) ?? [])];
          const live = await Promise.all(ids.map((descendant) => inner.get(descendant)));
          return ids.filter((_, i) => live[i] !== null).slice(0, limit);
        },
      });
    },
    caught: ['from the moment get finds a descendant, listDescendants lists it (the index is written first)'],
  },
  {
    // The network loses the second message on its way to the other process.
    name: 'has a channel that drops a message',
    make: withChannel((n, send) => {
      if (n !== 2) setImmediate(send);
    }),
    caught: [CHANNEL_CASES.elsewhere, CHANNEL_CASES.reconnect],
    says: /message 2 of \d+ never reached a subscriber in another process \(dropped\)/,
  },
  {
    name: 'has a channel that delays a message past the bound',
    make: withChannel(
      (n, send) => void (n === 2 ? setTimeout(send, 1.5 * CHANNEL_BOUND) : setImmediate(send)),
    ),
    caught: [CHANNEL_CASES.elsewhere, CHANNEL_CASES.reconnect],
    says: /message 2 of \d+ reached a subscriber in another process \d+ ms after its publish resolved, past the bound of 200 ms \(delayed\)/,
  },
  {
    // The second message overtakes nothing, but the third overtakes it.
    name: 'has a channel that reorders messages',
    make: (inner) => {
      let held: (() => void) | undefined;
      return withChannel((n, send) => {
        if (n === 2) held = send;
        else
          setImmediate(() => {
            send();
            if (n === 3) held?.();
          });
      })(inner);
    },
    caught: [CHANNEL_CASES.elsewhere, CHANNEL_CASES.reconnect],
    says: /heard a message after one published later \(reordered\)/,
  },
  {
    // A subscription whose connection dropped goes on as if nothing happened: a cache would trust
    // entries that a message it missed meanwhile should have dropped.
    name: 'has a channel that says nothing when a connection drops',
    make: withChannel(undefined, true),
    caught: [CHANNEL_CASES.reconnect],
    says: /whose connection dropped did not say so \(onHealth\(false\)\)/,
  },
  {
    // Its replica applies each write 40 ms late, and its revocations resolve without waiting for it.
    name: 'is replicated, and resolves a revocation before its replica has it',
    make: replicated(false),
    caught: [FAILOVER_CASE],
    says: /a revocation that resolved was lost in the failover/,
  },
];

/** The cases that need what a memory store's harness does not offer. */
const NOT_FOR_ONE_PROCESS = [CHANNEL_CASES.elsewhere, CHANNEL_CASES.reconnect, FAILOVER_CASE];

test('the memory store passes every case', async () => {
  const report = await checkTokenStore(harnessOf((inner) => inner));
  assert.deepEqual(report.failed, []);
  assert.deepEqual(report.skipped, NOT_FOR_ONE_PROCESS, 'only what needs other processes or replicas');
  assert.ok(report.passed.length >= 25, `${report.passed.length} cases passed`);
});

test('a channel between two processes that delivers every message passes the channel cases', async () => {
  const cases = Object.values(CHANNEL_CASES);
  const report = await checkTokenStore(harnessOf(withChannel()), { cases, invalidationBound: CHANNEL_BOUND });
  assert.deepEqual(report.failed, []);
  assert.deepEqual(report.passed, cases);
});

test('a replicated store whose revocations wait for the replica passes every case', async () => {
  const report = await checkTokenStore(harnessOf(replicated(true)));
  assert.deepEqual(report.failed, []);
  assert.ok(report.passed.includes(FAILOVER_CASE));
});

for (const store of BROKEN_STORES) {
  test(`the store that ${store.name} fails the suite`, async () => {
    const report = await checkTokenStore(harnessOf(store.make), { invalidationBound: CHANNEL_BOUND });
    const failed = report.failed.map((failure) => failure.name);
    for (const name of store.caught)
      assert.ok(failed.includes(name), `caught by: ${name} (failed: ${failed.join('; ')})`);
    for (const failure of report.failed) {
      assert.ok(failure.error instanceof assert.AssertionError, `${failure.name}: an assertion`);
      if (store.says) assert.match(failure.error.message, store.says, `${failure.name}: the rule it names`);
    }
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
