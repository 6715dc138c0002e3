import { MAX_RECENT_IPS, type RecentIp } from '../store';

/**
 * How many tokens at most have addresses waiting in one process. Beyond it the token whose addresses
 * waited longest without news loses them: an attacker rotating addresses over many tokens cannot
 * grow the process's memory, only lose the oldest of what waits.
 */
export const MAX_PENDING_TOKENS = 10_000;

/**
 * The client addresses this process saw in checks that wrote nothing (a new address within
 * `NEW_IP_WRITE_GAP` of the token's last write), per token id, each with when it was last seen: the
 * next check of the token carries them in its plan (`CheckPlan.pendingIps`), so that they are on
 * record with its next write. An address leaves once this process sees it on record (or sees the
 * record full of newer ones), or when its token is gone.
 *
 * Bounded: at most `MAX_RECENT_IPS` addresses a token (a record keeps no more; the oldest goes) and
 * `maxTokens` tokens (the one longest unchanged goes). A token's list is never changed in place, so
 * that a plan keeps the list it was given.
 *
 * Should no use of the token come, a timer a token (unref'd: it keeps no process alive) makes the
 * write itself once the gap is over (`add`'s `flush`); it stops when the token's addresses leave.
 */
export class PendingIps {
  readonly #byToken = new Map<string, readonly RecentIp[]>();
  readonly #flushes = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(readonly maxTokens: number = MAX_PENDING_TOKENS) {}

  /** The addresses waiting for a token, or undefined (the common case, and no allocation). */
  of(id: string): readonly RecentIp[] | undefined {
    return this.#byToken.size === 0 ? undefined : this.#byToken.get(id);
  }

  /** How many tokens have addresses waiting. */
  get size(): number {
    return this.#byToken.size;
  }

  /**
   * Keeps `ip`, seen at `at`, for the token's next write; and, unless the token has one already, a
   * timer that calls `flush.run` in `flush.after` ms should its addresses still be waiting then.
   */
  add(id: string, ip: string, at: number, flush?: { after: number; run: () => void }): void {
    const waiting = this.#byToken.get(id);
    let next: RecentIp[];
    if (waiting === undefined) {
      next = [{ ip, lastSeenAt: at }];
      if (this.#byToken.size >= this.maxTokens) {
        const oldest = this.#byToken.keys().next();
        if (!oldest.done) this.forget(oldest.value);
      }
    } else {
      const before = waiting.find((entry) => entry.ip === ip)?.lastSeenAt ?? at;
      next = waiting.filter((entry) => entry.ip !== ip);
      next.push({ ip, lastSeenAt: Math.max(before, at) });
      next.sort((a, b) => a.lastSeenAt - b.lastSeenAt);
      if (next.length > MAX_RECENT_IPS) next.shift();
      // Set again below, as the newest: the map's order is the order of eviction.
      this.#byToken.delete(id);
    }
    this.#byToken.set(id, next);
    if (flush !== undefined && !this.#flushes.has(id)) {
      const timer = setTimeout(() => {
        this.#flushes.delete(id);
        flush.run();
      }, flush.after);
      timer.unref?.();
      this.#flushes.set(id, timer);
    }
  }

  /**
   * After a check of the token answered with a live record: drops the addresses that need no write
   * any more, those the record holds (seen there as late as here, or later), and, when it holds its
   * full `MAX_RECENT_IPS`, those older than all of them, which no write would keep. Decided on what
   * the record holds, not on which check wrote: checks in flight together may share one time.
   */
  settle(id: string, recent: readonly RecentIp[]): void {
    const waiting = this.#byToken.get(id);
    if (waiting === undefined) return;
    let oldestKept = Number.NEGATIVE_INFINITY;
    if (recent.length >= MAX_RECENT_IPS) {
      oldestKept = Number.POSITIVE_INFINITY;
      for (const held of recent) oldestKept = Math.min(oldestKept, held.lastSeenAt);
    }
    const left = waiting.filter(
      (entry) =>
        entry.lastSeenAt >= oldestKept &&
        !recent.some((held) => held.ip === entry.ip && held.lastSeenAt >= entry.lastSeenAt),
    );
    if (left.length === waiting.length) return;
    if (left.length === 0) this.forget(id);
    else this.#byToken.set(id, left);
  }

  /** Drops a token's addresses, and its timer: they are on record, or the token is gone. */
  forget(id: string): void {
    this.#byToken.delete(id);
    const timer = this.#flushes.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#flushes.delete(id);
  }

  /** Drops every address and stops every timer: the service closes. */
  clear(): void {
    for (const timer of this.#flushes.values()) clearTimeout(timer);
    this.#flushes.clear();
    this.#byToken.clear();
  }
}
