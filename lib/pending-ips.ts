import { MAX_RECENT_IPS, type RecentIp } from './store';

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
 * record with its next write. An address leaves once this process sees it on record (or sees a
 * write of a plan that carried it), or when its token is gone.
 *
 * Bounded: at most `MAX_RECENT_IPS` addresses a token (a record keeps no more; the oldest goes) and
 * `maxTokens` tokens (the one longest unchanged goes). A token's list is never changed in place, so
 * that a plan keeps the list it was given, and its identity says what a written plan carried.
 */
export class PendingIps {
  readonly #byToken = new Map<string, readonly RecentIp[]>();

  constructor(readonly maxTokens: number = MAX_PENDING_TOKENS) {}

  /** The addresses waiting for a token, or undefined (the common case, and no allocation). */
  of(id: string): readonly RecentIp[] | undefined {
    return this.#byToken.size === 0 ? undefined : this.#byToken.get(id);
  }

  /** How many tokens have addresses waiting. */
  get size(): number {
    return this.#byToken.size;
  }

  /** Keeps `ip`, seen at `at`, for the token's next write. */
  add(id: string, ip: string, at: number): void {
    const waiting = this.#byToken.get(id);
    let next: RecentIp[];
    if (waiting === undefined) {
      next = [{ ip, lastSeenAt: at }];
      if (this.#byToken.size >= this.maxTokens) {
        const oldest = this.#byToken.keys().next();
        if (!oldest.done) this.#byToken.delete(oldest.value);
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
  }

  /**
   * After a check of the token answered with a live record: drops the addresses the record holds
   * (seen there as late as here, or later), and, if `written`, all those the check's plan carried
   * (`offered`): the store merged them, and any it did not keep gave way to newer ones.
   */
  settle(
    id: string,
    offered: readonly RecentIp[] | undefined,
    written: boolean,
    recent: readonly RecentIp[],
  ): void {
    const waiting = this.#byToken.get(id);
    if (waiting === undefined) return;
    const left = waiting.filter(
      (entry) =>
        !(written && offered?.includes(entry)) &&
        !recent.some((held) => held.ip === entry.ip && held.lastSeenAt >= entry.lastSeenAt),
    );
    if (left.length === waiting.length) return;
    if (left.length === 0) this.#byToken.delete(id);
    else this.#byToken.set(id, left);
  }

  /** Drops a token's addresses: it is revoked, expired or unknown. */
  forget(id: string): void {
    this.#byToken.delete(id);
  }
}
