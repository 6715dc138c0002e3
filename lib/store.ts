import type { InvalidationChannel } from './cache-invalidation';

// The throttle's store is an interface of its own (`AttemptStore`); its types stay importable from here.
export type { AttemptReservation, FailureCount } from './attempt-store';

/**
 * The store contract: everything a token store must do, in the style of lucia's adapters. A few
 * async methods; "not found" is `null` (or `false`/`0`), and only infrastructure failures throw.
 * The token service puts a timeout around every call and turns a throw into
 * `StoreUnavailableError`, so a store needs no error handling of its own.
 *
 * The service decides, the store applies: the service computes what each call must do (a check's
 * `CheckPlan`, a tombstone's end), and a store applies it atomically, holding no rule of its own.
 * Three conditions only the store can test, because they must hold at the instant of its write:
 * a use is written only when the hash matches (`verify`), an expiry never passes the record's hard
 * limit as it is then (`verify`, after a `limit`), and a create counts the user's live tokens
 * (`create`). The service does not judge those again; what it judges in the answer is its own
 * decision: the hash, compared in constant time (a store may return a record without comparing),
 * the expiry as of the answer, and the login.
 * Every store must pass the conformance suite, `checkTokenStore` from `personal-token-auth/testing`.
 */
export interface StoredToken {
  /** Public id, 16 hex characters. */
  id: string;
  /** Login of the owner. */
  user: string;
  /** SHA-256 of the token's secret and terms, 64 hex digits; the first 16 are the id. The only secret material a store ever sees. */
  secretHash: string;
  label: string | null;
  /** Normalised `node:<id>:<r|w|rw>` scopes; empty = the user's full access. */
  scopes: string[];
  /** All times are milliseconds since the epoch, from the store's clock. */
  createdAt: number;
  /** When the token expires if it is not used again. */
  expiresAt: number;
  /** The hard limit (`-e`), or null. A sliding token never outlives it. */
  hardExpiresAt: number | null;
  /** The sliding window in ms (`-a`), or null. */
  autoRefresh: number | null;
  /** Last successful use, written at most once per `touchInterval`. */
  lastUsedAt: number | null;
  /** Client IP of that use, when the service records IPs (`trackIp`). */
  lastUsedIp: string | null;
  /**
   * The last `MAX_RECENT_IPS` distinct client IPs written with a use (`trackIp`), newest first: an
   * address seen again moves to the front with its new time.
   */
  recentIps: RecentIp[];
  /**
   * The tokens whose revocation takes this one down: the personal token that made it (its parent)
   * first, then that one's own `ancestorIds`, at most `MAX_FAMILY_DEPTH` (see docs/lifecycle.md,
   * "Child tokens"). Empty for a token no personal token made; absent in a record written before
   * families, which reads as empty.
   */
  ancestorIds?: string[];
}

/**
 * How many ancestors a token may have: a token with this many cannot make another. It bounds the
 * index writes of an issue and the walk of a revocation.
 */
export const MAX_FAMILY_DEPTH = 8;

/** A client address a token was used from, and when it last was (ms since the epoch). */
export interface RecentIp {
  ip: string;
  lastSeenAt: number;
}

/** How many distinct client IPs a record keeps (`StoredToken.recentIps`). */
export const MAX_RECENT_IPS = 5;

/**
 * What `verify` returns for a live record: the record as it is after the plan, and `addedIps`, the
 * addresses this check put into `recentIps` that were not among them before (absent when none was).
 */
export interface CheckedToken extends StoredToken {
  addedIps?: string[];
}

/**
 * What `verify` finds for a revoked token: a tombstone, kept for a while after revocation so that
 * the operator's audit can say "revoked" rather than "unknown". It carries no secret material.
 */
export interface RevokedToken {
  id: string;
  user: string;
  revokedAt: number;
}

/** Where a page of `listPage` starts, and how many tokens it holds at most. */
export interface PageRequest {
  cursor: string | null;
  limit: number;
}

export interface TokenPage {
  tokens: StoredToken[];
  /** Where the next page starts, or null if this was the last. */
  cursor: string | null;
}

/**
 * Where a page of `listExpiring` starts, how many tokens it holds at most, and the end of the window:
 * tokens whose hard limit is at most `until` (ms since the epoch) are in it.
 */
export interface ExpiringPageRequest {
  until: number;
  cursor: string | null;
  limit: number;
}

/**
 * How long a revoked token's tombstone stays at most (less if the token would have expired sooner):
 * the service revokes with `delete(id, now + TOMBSTONE_LIFE)`.
 */
export const TOMBSTONE_LIFE = 7 * 24 * 3_600_000;

/**
 * What one check must do to a token's record, decided by the service; a store applies it
 * atomically and holds no rule of its own.
 */
export interface CheckPlan {
  /** The check's time, ms since the epoch (the service's clock, the store's own when it has one). */
  now: number;
  /**
   * For a sliding token: its new expiry, min(now + window, hard limit), from the terms the token's
   * text carries; the store caps it at the record's hard limit (which `limit` may have brought
   * forward). null for a token with only a hard limit: its expiry does not move.
   */
  expiresAt: number | null;
  /** Write lastUsedAt = now (and lastUsedIp, see ip) when the stored lastUsedAt is null or <= this. */
  touchIfBefore: number;
  /** undefined: leave lastUsedIp as it is; a string or null: what to store with a written use. */
  ip?: string | null;
  /**
   * With `ip` a string (or `pendingIps`): also write the use when `ip` is not in `recentIps` (or
   * there are `pendingIps`) and the stored lastUsedAt is at most this, so that a new address is on
   * record at once, yet an attacker rotating addresses makes no more writes than this allows. A
   * written use merges a string `ip` (seen `now`) and `pendingIps` into `recentIps`
   * (`withRecentIps`: each address once at its latest time, newest first, the `MAX_RECENT_IPS` newest).
   */
  newIpIfBefore?: number;
  /**
   * Addresses the service saw in earlier checks that wrote nothing (within `NEW_IP_WRITE_GAP` of the
   * last write), each with when it was seen; undefined when there are none (never empty), and only
   * with `ip` not undefined. They make a use due as a new `ip` does (once `lastUsedAt <=
   * newIpIfBefore`), and a written use merges them into `recentIps`: an address seen within the gap
   * is on record with the token's next write.
   */
  pendingIps?: readonly RecentIp[];
}

/** What `create` may be asked to keep to. */
export interface CreateOptions {
  /**
   * The most live tokens the token's user may have, this one included: the store creates it only if
   * the user has fewer than this. Undefined: no limit.
   */
  maxLiveTokens?: number;
}

/** What `create` did: stored the token, or nothing, because the user was at the limit or the id was taken. */
export type CreateOutcome = 'created' | 'over-limit' | 'id-taken';

export interface TokenStore {
  /**
   * Saves a new token, to expire at `token.expiresAt` unless refreshed; answers `'id-taken'`, saving
   * nothing, if the id is already taken. With `options.maxLiveTokens`, the count and the write are
   * one atomic step, whatever the concurrency and however many app instances share the store: it
   * answers `'over-limit'`, saving nothing, if the user already has that many live tokens, counted as
   * `listPage` lists them (not revoked, not expired), together with the creates of the user still in
   * flight. So the user never holds more than the limit, however many creates race.
   */
  create(token: StoredToken, options?: CreateOptions): Promise<CreateOutcome>;

  /**
   * Optional, for child tokens (`issueFor` and `rotate` by a personal token; without it a token
   * made by another records no ancestors, and revoking one revokes only itself). Up to `limit` ids of live tokens whose `ancestorIds` hold
   * `ancestorId`, in any order; fewer only when there are no more. Every store keeps an index
   * ancestor → descendant for it, with these rules, which the revocation of a family relies on:
   * - `create` of a token with `ancestorIds` puts its id in each ancestor's index *before* its record
   *   exists (or in the same atomic write): from the moment `get` finds the record, this lists it.
   * - An entry lives as long as its descendant's record may: a revoked or expired descendant is
   *   listed no more, and its entry is dropped (when `delete` runs, on its own expiry, or as this
   *   reads it), so that an index holds no more than live tokens, whatever happens to the ancestor.
   * - An entry whose record does not exist (yet) may be dropped here: the service re-reads the
   *   ancestors of a token after creating it, and withdraws it if one has gone meanwhile.
   */
  listDescendants?(ancestorId: string, limit: number): Promise<string[]>;

  /**
   * The hot path: one check of a token, applying `plan` atomically. The whole rule, for every store:
   * - `id` is always the first 16 hex digits of `secretHash` (`tokenIdOf`); if they differ, return
   *   null and change nothing.
   * - No live record for `id` (none, or its `expiresAt <= plan.now`): its tombstone if it was revoked
   *   and the tombstone has not expired, else null.
   * - A live record whose `secretHash` differs: return it, without writing `lastUsedAt` (the service
   *   compares the hashes in constant time and refuses). A store whose one-command read also sets
   *   the expiry may have pushed it to `plan.expiresAt` by then; it must not revive or write anything.
   * - Otherwise: if `plan.expiresAt` is not null, `expiresAt = min(plan.expiresAt, hardExpiresAt)`;
   *   if a use is due (`useIsDue`: `lastUsedAt` null or `<= plan.touchIfBefore`, or a new `plan.ip`
   *   or `plan.pendingIps` past `plan.newIpIfBefore`), `lastUsedAt = plan.now` and, when `plan.ip` is
   *   not undefined, `lastUsedIp = plan.ip`, and a string `plan.ip` and the `plan.pendingIps` are
   *   merged into `recentIps` (`withRecentIps`), all in one atomic step: concurrent checks lose no
   *   address to one another. Return the record as it is after, with `addedIps` listing the
   *   addresses now in `recentIps` that were not before.
   * The service, not the store, decides whether the token is accepted (hash, expiry, login).
   */
  verify(id: string, secretHash: string, plan: CheckPlan): Promise<CheckedToken | RevokedToken | null>;

  /** The record without touching it, or null (also for a revoked one). */
  get(id: string): Promise<StoredToken | null>;

  /**
   * One page of the user's live tokens, newest first (by `createdAt`, then by id): at most
   * `page.limit` of them, after the position `page.cursor` (null = from the start). `cursor` in the
   * answer is where the next page starts, null when there is none; a page may hold fewer than `limit`
   * tokens (expired ones are dropped, and their ids removed from any index the store keeps) and still
   * have a next one. A cursor stays valid when tokens are created or revoked between pages: tokens are
   * neither skipped nor repeated, except those created after the listing started. Cursors are
   * `<createdAt>:<id>` (see `parsePageCursor`), so that every store reads the others'.
   */
  listPage(user: string, page: PageRequest): Promise<TokenPage>;

  /**
   * Optional, for expiry notices (`TokenService.listExpiring`): one page of every user's live tokens
   * whose hard limit is at most `page.until`, soonest first (by `hardExpiresAt`, then by id), after
   * `page.cursor`. Tokens without a hard limit are never listed; revoked and expired ones neither.
   * Read from an index by hard limit, so that a page costs what it lists, not what the store holds.
   * A token whose hard limit `limit` brought forward is listed at its new one. Paging is as
   * `listPage`'s: at most `limit` tokens, a page may hold fewer and still have a next one, and
   * tokens are neither skipped nor repeated when others are created, limited or revoked between
   * pages (but one whose hard limit moves to before the cursor's position meanwhile is left to the next
   * listing).
   * Cursors are `<hardExpiresAt>:<id>` (see `parseExpiringCursor`), the same in every store.
   * Optional so that a store written before it still works; `listExpiring` refuses without it.
   */
  listExpiring?(page: ExpiringPageRequest): Promise<TokenPage>;

  /**
   * Revokes a token, leaving a tombstone until `min(tombstoneUntil, the record's expiresAt)` (the
   * service passes `now + TOMBSTONE_LIFE`); returns the revoked record, or null if there was no live
   * token. Once this resolves, `verify` never returns the live record. Nothing may extend a tombstone.
   */
  delete(id: string, tombstoneUntil: number): Promise<StoredToken | null>;

  /**
   * Brings a token's hard limit forward to `hardExpiresAt` (never later than it was), for rotation
   * with an overlap. Returns false if there is no live token. From then on, no use of the token's
   * text (which still carries the old limit) may keep it, or its key, past the new limit.
   */
  limit(id: string, hardExpiresAt: number): Promise<boolean>;

  /**
   * Optional: how long, at most, `delete` and `limit` may wait after their writes for the store to
   * confirm them durable (the Redis store's `durableRevocation`), in ms. The service gives those calls
   * its deadline plus this, so that a confirmation never loses the race to the deadline. Once they
   * resolve, the change survives the loss of the primary: the conformance suite's `failover()` checks it.
   */
  readonly revocationWait?: number;

  /**
   * Optional: how the processes sharing this store tell each other which tokens changed (see
   * `InvalidationChannel`). The service publishes every revocation, rotation and limit on it; its
   * `cache` option needs it. The conformance suite checks the rules its cache rests on: heard here
   * before `publish` resolves, elsewhere within a bound, in order, and `onHealth(false)` when a
   * subscription may have missed a message.
   */
  readonly invalidations?: InvalidationChannel;

  /** The store's clock (ms). The token service uses it too, so that both agree on what "now" is. */
  now?(): number;
}
