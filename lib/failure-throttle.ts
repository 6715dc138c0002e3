import { parseDuration } from './duration';
import type { TokenService } from './token-service';

export interface ThrottleOptions {
  /** Failed authentications from one client IP within `window` before it is refused with 429. */
  maxFailures: number;
  /** The window, `'15m'` or ms. */
  window: string | number;
}

// Bound on the blocked-IP cache, so a flood of spoofed addresses cannot grow it without limit.
const MAX_BLOCKED = 100_000;

/**
 * Failed-authentication throttling per client IP. Failures are counted in the token store (one
 * key per IP with a TTL, shared by every instance of the app); once an IP reaches `maxFailures`
 * within the window, this instance refuses it with 429 *without any lookup* until the window ends.
 * Successful requests cost nothing: only failures touch the counter. Requests are never delayed.
 *
 * Each instance learns of a block at the latest when that IP's next failure reaches it, so a
 * guesser gets at most one more try per instance, never more than `maxFailures` in total.
 */
export class FailureThrottle {
  readonly maxFailures: number;
  readonly window: number;
  readonly #tokens: TokenService;
  readonly #blockedUntil = new Map<string, number>();

  constructor(tokens: TokenService, options: ThrottleOptions) {
    if (!Number.isSafeInteger(options?.maxFailures) || options.maxFailures < 1) {
      throw new TypeError('throttle.maxFailures must be a whole number of at least 1');
    }
    if (typeof tokens.store.recordFailure !== 'function') {
      throw new TypeError(
        'throttle needs a token store with recordFailure() (the Redis and memory stores have it)',
      );
    }
    this.maxFailures = options.maxFailures;
    this.window = parseDuration(options.window);
    this.#tokens = tokens;
  }

  /** Seconds until the IP may try again, or 0 if it is not blocked. */
  retryAfter(ip: string): number {
    const until = this.#blockedUntil.get(ip);
    if (until === undefined) return 0;
    const left = until - this.#tokens.now();
    if (left > 0) return Math.ceil(left / 1000);
    this.#blockedUntil.delete(ip);
    return 0;
  }

  /** Counts a failure; blocks the IP here once the shared count reaches the limit. */
  async fail(ip: string): Promise<void> {
    const { count, resetAt } = await this.#tokens.recordFailure(ip, this.window);
    if (count < this.maxFailures) return;
    this.#blockedUntil.delete(ip);
    this.#blockedUntil.set(ip, resetAt);
    if (this.#blockedUntil.size > MAX_BLOCKED) {
      const oldest = this.#blockedUntil.keys().next().value;
      if (oldest !== undefined) this.#blockedUntil.delete(oldest);
    }
  }
}
