import type { InvalidationChannel, InvalidationSubscription } from '../cache-invalidation';
import { parseDuration } from '../duration';
import { optionNames } from '../option-names';
import type { StoredToken } from '../store';
import { slidingExpiry } from '../token-format';

/** The token service's `cache` option: off unless given. */
export interface TokenCacheOptions {
  /** How many tokens the cache holds at most; the least recently used goes first. Default 10,000. */
  maxEntries?: number;
  /**
   * How long a check the store confirmed is trusted at most, `'1s'` or ms. Default 1 s. A change
   * made through the library reaches every cache on the store's invalidation channel much sooner;
   * this bounds any other (a key deleted by hand, a write a failover lost).
   */
  maxStale?: string | number;
}

export const CACHE_OPTION_NAMES = optionNames<TokenCacheOptions>({ maxEntries: true, maxStale: true });

/**
 * How long at most a sliding token is served from the cache: its stored expiry must still be pushed
 * by use, so that it never falls more than about this short of the last use plus its window.
 */
export const SLIDING_REFRESH = 1000;

interface Entry {
  record: StoredToken;
  /** Until when (ms, the service's clock) the entry may answer a check. */
  trustedUntil: number;
  /** How many entries had been put at the newest end before this one last was. */
  added: number;
}

/**
 * Successful checks of this process, kept for a short while so that a token used again skips the
 * store. An entry answers only while the store's invalidation channel is subscribed: once the channel
 * may have missed a message, every entry is dropped and none is added until it is back.
 */
export class TokenCache {
  readonly maxEntries: number;
  readonly maxStale: number;
  readonly #touchInterval: number;
  // A Map keeps insertion order: an entry in use is moved to the end, so the first is one little used.
  readonly #entries = new Map<string, Entry>();
  readonly #subscription: InvalidationSubscription;
  #healthy = false;
  /** Entries put at the newest end so far. */
  #added = 0;
  /** Where the next entry to drop is looked for (see `#dropOldest`). */
  #oldest: Iterator<string> = this.#entries.keys();
  /** Moves on with every change heard of: a check that began before one must not fill the cache. */
  #epoch = 0;

  constructor(channel: InvalidationChannel | undefined, options: TokenCacheOptions, touchInterval: number) {
    if (typeof channel?.subscribe !== 'function' || typeof channel.publish !== 'function') {
      throw new TypeError(
        'The token cache needs a store with an invalidation channel (TokenStore.invalidations), so that a revocation reaches every process; this store has none',
      );
    }
    const maxEntries = options?.maxEntries ?? 10_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TypeError('cache.maxEntries must be a whole number of at least 1');
    }
    this.maxEntries = maxEntries;
    this.maxStale = parseDuration(options?.maxStale ?? 1000);
    this.#touchInterval = touchInterval;
    this.#subscription = channel.subscribe(
      (ids) => this.evict(ids),
      (healthy) => this.#setHealth(healthy),
    );
  }

  /** Whether the cache answers checks: its invalidation channel is subscribed and healthy. */
  get active(): boolean {
    return this.#healthy;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The record a check at `now` may use instead of the store's, or undefined: the cache's own, which
   * the service only reads (what it hands out are copies; freezing it would cost more than the
   * check). A sliding token's expiry is reported as this use pushes it (the store gets the push
   * within `SLIDING_REFRESH`). The caller still compares the hash.
   */
  get(id: string, now: number): StoredToken | undefined {
    if (!this.#healthy) return undefined;
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    const record = entry.record;
    // An expired token goes back to the store, which answers for it as it does without a cache.
    if (entry.trustedUntil <= now || record.expiresAt <= now) {
      this.#entries.delete(id);
      return undefined;
    }
    // Moved to the newest end only once half the cache was added after it: an entry in use is never
    // the oldest all the same, without a delete and an insert on every hit.
    if (this.#added - entry.added > this.maxEntries >> 1) this.#insert(id, entry);
    return record.autoRefresh === null ? record : { ...record, expiresAt: slidingExpiry(record, now)! };
  }

  /** Where a check that goes to the store starts from; pass it to `add` with what the store confirmed. */
  mark(): number {
    return this.#healthy ? this.#epoch : -1;
  }

  /**
   * Keeps a record the store confirmed in a check that began at `checkedAt` with `mark`, unless
   * something changed meanwhile (a message, the channel's health): the record may predate it.
   */
  add(mark: number, record: StoredToken, checkedAt: number): void {
    if (mark !== this.#epoch || !this.#healthy) return;
    // Trusted no longer than maxStale; a sliding token no longer than its refresh allows; and no
    // token past the time its last use is due to be written down again, so that `lastUsedAt`
    // stays as close as the touch interval makes it without a cache.
    const untilTouch = (record.lastUsedAt ?? checkedAt) + this.#touchInterval;
    const untilRefresh = record.autoRefresh === null ? Number.POSITIVE_INFINITY : checkedAt + SLIDING_REFRESH;
    const trustedUntil = Math.min(checkedAt + this.maxStale, untilRefresh, untilTouch);
    // A copy of its own: the caller hands the store's record on.
    this.#insert(record.id, { record: { ...record, scopes: [...record.scopes] }, trustedUntil, added: 0 });
    if (this.#entries.size > this.maxEntries) this.#dropOldest();
  }

  /**
   * Drops the least recently put entry. The Map's iterator is kept from one call to the next: a new
   * one would step again over every entry dropped since the Map last compacted (thousands, when
   * misses come fast), while this one is already past them. What it passed was all dropped; what is
   * put meanwhile comes after it.
   */
  #dropOldest(): void {
    let oldest = this.#oldest.next();
    if (oldest.done) {
      this.#oldest = this.#entries.keys();
      oldest = this.#oldest.next();
    }
    if (!oldest.done) this.#entries.delete(oldest.value);
  }

  /** Puts an entry at the newest end. */
  #insert(id: string, entry: Entry): void {
    this.#entries.delete(id);
    entry.added = this.#added++;
    this.#entries.set(id, entry);
  }

  /** Drops these tokens, and keeps any check already under way from adding them back. */
  evict(ids: readonly string[]): void {
    this.#epoch++;
    for (const id of ids) this.#entries.delete(id);
  }

  async close(): Promise<void> {
    await this.#subscription.close();
    this.#setHealth(false);
  }

  #setHealth(healthy: boolean): void {
    this.#epoch++;
    this.#entries.clear();
    this.#oldest = this.#entries.keys();
    this.#healthy = healthy;
  }
}
