import type { AttemptStore } from '../lib/attempt-store';
import { InProcessInvalidations } from '../lib/cache-invalidation';
import { addedIps, withRecentIps } from '../lib/check/recent-ips';
import { useIsDue } from '../lib/check/token-checker';
import { compareExpiring, formatExpiringCursor, parseExpiringCursor } from '../lib/expiring-page';
import { checkOptions, optionNames } from '../lib/option-names';
import type {
  AttemptReservation,
  CheckedToken,
  CheckPlan,
  CreateOptions,
  CreateOutcome,
  ExpiringPageRequest,
  FailureCount,
  PageRequest,
  RevokedToken,
  StoredToken,
  TokenPage,
  TokenStore,
} from '../lib/store';
import { hashesMatch, tokenIdOf } from '../lib/token-format';
import { formatPageCursor, parsePageCursor } from '../lib/token-page';
import { UserTokenIndex } from './memory-user-index';

export interface MemoryTokenStoreOptions {
  /** The clock (ms since the epoch). Inject one in tests to move time without sleeping. */
  now?: () => number;
}

const OPTION_NAMES = optionNames<MemoryTokenStoreOptions>({ now: true });

// The fewest entries at which a sweep runs: below it, one costs more than the memory it frees.
const SWEEP_FLOOR = 1024;

interface Tombstone extends RevokedToken {
  until: number;
}

/**
 * Tokens in a Map, with the same semantics as the Redis store: for tests, and for apps that run as a
 * single process without Redis (the example app's default). Nothing survives a restart.
 */
export class MemoryTokenStore implements TokenStore, AttemptStore {
  readonly #tokens = new Map<string, StoredToken>();
  readonly #tombstones = new Map<string, Tombstone>();
  readonly #failures = new Map<string, FailureCount>();
  readonly #byUser = new Map<string, UserTokenIndex>();
  /** Ancestor id → the ids of its descendants; an entry goes with its descendant (see `listDescendants`). */
  readonly #descendants = new Map<string, Set<string>>();
  readonly #now: () => number;
  /** Every service on this store is in this process: its messages need no server. */
  readonly invalidations = new InProcessInvalidations();
  // Expired entries are dropped when touched; a sweep drops the others once the entries double, so
  // that every entry is reclaimed and memory stays within twice what is live, at a constant cost
  // per added entry.
  #sweepAt = SWEEP_FLOOR;

  constructor(options: MemoryTokenStoreOptions = {}) {
    checkOptions('MemoryTokenStore', options, OPTION_NAMES);
    this.#now = options.now ?? Date.now;
  }

  now(): number {
    return this.#now();
  }

  /** How many entries (tokens, tombstones, failure counters) the store holds, expired or not. */
  get size(): number {
    return this.#tokens.size + this.#tombstones.size + this.#failures.size;
  }

  // No await from the count to the write: no other call runs in between.
  async create(token: StoredToken, options: CreateOptions = {}): Promise<CreateOutcome> {
    if (this.#live(token.id) || this.#tombstone(token.id)) return 'id-taken';
    const index = this.#byUser.get(token.user) ?? new UserTokenIndex();
    const max = options.maxLiveTokens;
    if (max !== undefined && index.page(null, max, this.#isLive).tokens.length >= max) return 'over-limit';
    const stored = structuredClone(token);
    stored.ancestorIds ??= [];
    // The index before the record, as every store must (in the same turn here).
    for (const ancestor of stored.ancestorIds) {
      const descendants = this.#descendants.get(ancestor) ?? new Set<string>();
      this.#descendants.set(ancestor, descendants.add(token.id));
    }
    this.#tokens.set(token.id, stored);
    this.#byUser.set(token.user, index);
    index.add(stored);
    this.#reclaim();
    return 'created';
  }

  async verify(id: string, secretHash: string, plan: CheckPlan): Promise<CheckedToken | RevokedToken | null> {
    if (tokenIdOf(secretHash) !== id) return null;
    const token = this.#live(id);
    if (!token) {
      const tombstone = this.#tombstone(id);
      return tombstone ? { id, user: tombstone.user, revokedAt: tombstone.revokedAt } : null;
    }
    if (hashesMatch(token.secretHash, secretHash)) {
      if (plan.expiresAt !== null) {
        token.expiresAt = Math.min(plan.expiresAt, token.hardExpiresAt ?? Number.POSITIVE_INFINITY);
      }
      if (useIsDue(token, plan)) {
        token.lastUsedAt = plan.now;
        const ip = plan.ip;
        if (ip !== undefined) token.lastUsedIp = ip;
        if (typeof ip === 'string' || plan.pendingIps !== undefined) {
          const before = token.recentIps;
          token.recentIps = withRecentIps(before, plan.pendingIps, ip, plan.now);
          const added = addedIps(before, token.recentIps);
          if (added !== undefined) return { ...structuredClone(token), addedIps: added };
        }
      }
    }
    return structuredClone(token);
  }

  async get(id: string): Promise<StoredToken | null> {
    const token = this.#live(id);
    return token ? structuredClone(token) : null;
  }

  async listPage(user: string, page: PageRequest): Promise<TokenPage> {
    const after = page.cursor === null ? null : parsePageCursor(page.cursor);
    if (page.cursor !== null && after === null) throw new TypeError('listPage: not a page cursor');
    const index = this.#byUser.get(user);
    if (!index) return { tokens: [], cursor: null };
    const found = index.page(after, page.limit, this.#isLive);
    const last = found.tokens.at(-1);
    return {
      tokens: found.tokens.map((token) => structuredClone(token)),
      cursor: found.more && last ? formatPageCursor(last) : null,
    };
  }

  /**
   * A scan of every token: this store is for tests and single processes, where a listing of expiry
   * notices (once a day) costs less than keeping a second index on every issue.
   */
  async listExpiring(page: ExpiringPageRequest): Promise<TokenPage> {
    const after = page.cursor === null ? null : parseExpiringCursor(page.cursor);
    if (page.cursor !== null && after === null) throw new TypeError('listExpiring: not a page cursor');
    const now = this.#now();
    const found: (StoredToken & { hardExpiresAt: number })[] = [];
    for (const token of this.#tokens.values()) {
      const hard = token.hardExpiresAt;
      if (hard === null || hard > page.until || token.expiresAt <= now) continue;
      if (after === null || compareExpiring({ hardExpiresAt: hard, id: token.id }, after) > 0)
        found.push(token as StoredToken & { hardExpiresAt: number });
    }
    found.sort(compareExpiring);
    const tokens = found.slice(0, page.limit);
    const last = tokens.at(-1);
    return {
      tokens: tokens.map((token) => structuredClone(token)),
      cursor: found.length > page.limit && last ? formatExpiringCursor(last) : null,
    };
  }

  async listDescendants(ancestorId: string, limit: number): Promise<string[]> {
    const descendants = this.#descendants.get(ancestorId);
    if (!descendants) return [];
    const found: string[] = [];
    for (const id of descendants) {
      if (found.length === limit) break;
      if (this.#live(id)) found.push(id);
      else descendants.delete(id);
    }
    if (descendants.size === 0) this.#descendants.delete(ancestorId);
    return found;
  }

  /** Whether an index entry is still the stored, live record (not revoked, expired or replaced). */
  readonly #isLive = (token: StoredToken): boolean =>
    this.#tokens.get(token.id) === token && token.expiresAt > this.#now();

  async delete(id: string, tombstoneUntil: number): Promise<StoredToken | null> {
    const token = this.#live(id);
    if (!token) return null;
    this.#tokens.delete(id);
    for (const ancestor of token.ancestorIds ?? []) this.#forgetDescendant(ancestor, id);
    this.#tombstones.set(id, {
      id,
      user: token.user,
      revokedAt: this.#now(),
      until: Math.min(token.expiresAt, tombstoneUntil),
    });
    this.#reclaim();
    return structuredClone(token);
  }

  async limit(id: string, hardExpiresAt: number): Promise<boolean> {
    const token = this.#live(id);
    if (!token) return false;
    token.hardExpiresAt = Math.min(hardExpiresAt, token.hardExpiresAt ?? Number.POSITIVE_INFINITY);
    token.expiresAt = Math.min(token.expiresAt, token.hardExpiresAt);
    return true;
  }

  #live(id: string): StoredToken | undefined {
    const token = this.#tokens.get(id);
    if (token && token.expiresAt <= this.#now()) {
      this.#tokens.delete(id);
      return undefined;
    }
    return token;
  }

  #tombstone(id: string): Tombstone | undefined {
    const tombstone = this.#tombstones.get(id);
    if (tombstone && tombstone.until <= this.#now()) {
      this.#tombstones.delete(id);
      return undefined;
    }
    return tombstone;
  }

  #forgetDescendant(ancestor: string, id: string): void {
    const descendants = this.#descendants.get(ancestor);
    descendants?.delete(id);
    if (descendants?.size === 0) this.#descendants.delete(ancestor);
  }

  #reclaim(): void {
    if (this.size >= this.#sweepAt) this.#sweep();
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, token] of this.#tokens) if (token.expiresAt <= now) this.#tokens.delete(id);
    for (const [ancestor, descendants] of this.#descendants) {
      for (const id of descendants) if (!this.#tokens.has(id)) descendants.delete(id);
      if (descendants.size === 0) this.#descendants.delete(ancestor);
    }
    for (const [user, index] of this.#byUser) {
      index.compact(this.#isLive);
      if (index.size === 0) this.#byUser.delete(user);
    }
    for (const [id, tombstone] of this.#tombstones) if (tombstone.until <= now) this.#tombstones.delete(id);
    for (const [key, failure] of this.#failures) if (failure.resetAt <= now) this.#failures.delete(key);
    this.#sweepAt = Math.max(SWEEP_FLOOR, this.size * 2);
  }

  // Attempts reserved and not yet released: key → attempt → when it lapses. A key's entry goes
  // with its last attempt, so this holds no more than the requests in flight.
  readonly #attempts = new Map<string, Map<string, number>>();
  #lastAttempt = 0;

  async reserveAttempt(key: string, limit: number, window: number): Promise<AttemptReservation> {
    const now = this.#now();
    const { count: failures, resetAt } = this.#failuresOf(key, now);
    const reserved = this.#attempts.get(key) ?? new Map<string, number>();
    for (const [attempt, lapsesAt] of reserved) if (lapsesAt <= now) reserved.delete(attempt);
    if (failures + reserved.size >= limit) {
      if (reserved.size === 0) this.#attempts.delete(key);
      return { attempt: null, failures, pending: reserved.size, resetAt };
    }
    const attempt = String(++this.#lastAttempt);
    reserved.set(attempt, now + window);
    this.#attempts.set(key, reserved);
    return { attempt, failures, pending: reserved.size, resetAt };
  }

  async releaseAttempt(key: string, attempt: string): Promise<void> {
    const reserved = this.#attempts.get(key);
    reserved?.delete(attempt);
    if (reserved?.size === 0) this.#attempts.delete(key);
  }

  async failAttempt(key: string, attempt: string, window: number): Promise<FailureCount> {
    await this.releaseAttempt(key, attempt);
    return this.#countFailure(key, window);
  }

  /** Counts one failure for `key` in a fixed window that starts with the first. */
  #countFailure(key: string, window: number): FailureCount {
    const now = this.#now();
    const current = this.#failures.get(key);
    const next =
      current && current.resetAt > now
        ? { count: current.count + 1, resetAt: current.resetAt }
        : { count: 1, resetAt: now + window };
    this.#failures.set(key, next);
    this.#reclaim();
    return { ...next };
  }

  #failuresOf(key: string, now: number): FailureCount {
    const current = this.#failures.get(key);
    return current && current.resetAt > now ? { ...current } : { count: 0, resetAt: now };
  }
}
