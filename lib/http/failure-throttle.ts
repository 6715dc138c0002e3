import { type AttemptStore, attemptMethodList, isAttemptStore } from '../attempt-store';
import { CallDeadlines } from '../check/token-checker';
import { parseDuration } from '../duration';
import { checkOptions, optionNames } from '../option-names';

export interface ThrottleOptions {
  /** Failed authentications from one client IP within `window` before it is refused with 429. */
  maxFailures: number;
  /** The window, `'15m'` or ms. */
  window: string | number;
}

const THROTTLE_OPTION_NAMES = optionNames<ThrottleOptions>({ maxFailures: true, window: true });

/** `ThrottleOptions` checked, with the window in ms. */
export interface ThrottleSettings {
  maxFailures: number;
  window: number;
}

/**
 * The `throttle` option of `where` (the factory, for the messages), checked before the factory opens
 * anything: a mistake in it must not leave a connection behind.
 */
export function throttleSettings(where: string, options: ThrottleOptions): ThrottleSettings {
  checkOptions(where, options, THROTTLE_OPTION_NAMES, 'throttle');
  if (!Number.isSafeInteger(options.maxFailures) || options.maxFailures < 1) {
    throw new TypeError('throttle.maxFailures must be a whole number of at least 1');
  }
  return { maxFailures: options.maxFailures, window: parseDuration(options.window) };
}

/**
 * What the throttle shares with the token service it guards: the store (which must also be an
 * `AttemptStore`), the deadline of a store call, and the clock.
 */
export interface ThrottledService {
  readonly store: object;
  readonly timeout: number;
  now(): number;
}

/** What the throttle decides for one attempt: go ahead (and release `attempt` after), or wait. */
export type Admission = { attempt: string } | { retryAfter: number };

/** How a guarded attempt ends: its check's outcome, or a refusal before any check. */
export type Guarded<Outcome> = { outcome: Outcome } | { retryAfter: number };

// Bound on the blocked-IP cache, so a flood of spoofed addresses cannot grow it without limit.
const MAX_BLOCKED = 100_000;
// How often a waiting attempt asks the store again, for places freed by other instances.
const POLL_INTERVAL = 25;

/**
 * Failed-authentication throttling per client IP, exact under any concurrency and across every
 * instance of the app that shares the store: at most `maxFailures` token lookups of one IP can fail
 * in a window. Counting failures after the lookup cannot promise that (every request in flight
 * has already passed the check), so each attempt first reserves a place in the store, which grants
 * it only while the IP's failures in the window plus its attempts in flight stay below
 * `maxFailures`. A check that succeeds gives its place back; one that fails keeps it as a failure.
 * The window is fixed and starts with the first failure. A reservation that is never given back
 * (the store failed to answer) lapses by itself a window after it was made, counting until then.
 *
 * The price: an IP has at most `maxFailures` attempts in flight at once, and a checked request
 * costs two store calls (reserve, release). An attempt beyond that waits for a place (its own IP's
 * attempts end within a store deadline), woken when this instance ends one of them and asking the
 * store again every few milliseconds for the others, so that a client with a valid token and more
 * parallel requests than `maxFailures` (rclone's transfers, an office behind one address) is slowed,
 * never refused; only after waiting a store deadline is it refused with `Retry-After: 1`. Once the
 * store reports `maxFailures` failures, this instance refuses the IP by itself until the window ends.
 */
export class FailureThrottle {
  readonly maxFailures: number;
  readonly window: number;
  readonly #store: AttemptStore;
  /** The service's deadline, around each call of the attempt store. */
  readonly #deadlines: CallDeadlines;
  readonly #now: () => number;
  readonly #blockedUntil = new Map<string, number>();
  /** Attempts waiting for a place, per IP, first come first served: each wakes the next. */
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(tokens: ThrottledService, settings: ThrottleSettings) {
    const store = tokens.store;
    if (!isAttemptStore(store)) {
      throw new TypeError(
        `throttle needs a token store with ${attemptMethodList} (an AttemptStore: the memory, Redis and PostgreSQL stores are)`,
      );
    }
    this.maxFailures = settings.maxFailures;
    this.window = settings.window;
    this.#store = store;
    this.#deadlines = new CallDeadlines(tokens.timeout);
    this.#now = () => tokens.now();
  }

  /** Seconds until the IP may try again, as far as this instance knows without asking the store, or 0. */
  retryAfter(ip: string): number {
    const until = this.#blockedUntil.get(ip);
    if (until === undefined) return 0;
    const left = until - this.#now();
    if (left > 0) return Math.ceil(left / 1000);
    this.#blockedUntil.delete(ip);
    return 0;
  }

  /**
   * Reserves an attempt for the IP before its lookup, waiting while its other attempts in flight
   * take every place, or says how long it must wait before trying again.
   */
  async admit(ip: string): Promise<Admission> {
    const waitUntil = performance.now() + this.#deadlines.ms;
    for (;;) {
      const reservation = await this.#deadlines.run('reserveAttempt', () =>
        this.#store.reserveAttempt(ip, this.maxFailures, this.window),
      );
      if (reservation.attempt !== null) return { attempt: reservation.attempt };
      if (reservation.failures >= this.maxFailures) {
        this.#block(ip, reservation.resetAt);
        this.#wake(ip);
        return { retryAfter: Math.max(1, this.retryAfter(ip)) };
      }
      // Refused only for its attempts in flight, which end within a store deadline: no block to remember.
      if (performance.now() >= waitUntil) return { retryAfter: 1 };
      await this.#turn(ip);
    }
  }

  /**
   * Runs the check of one attempt from `ip` under the throttle, or refuses it before any check. Its
   * place is given back when the check passes (or could not be made: the store or the app failed,
   * which is no failure of the client's), kept as a failure when `failed(outcome)`, counted before
   * this resolves so that the client's next request already sees it.
   */
  async guard<Outcome>(
    ip: string,
    check: () => Promise<Outcome>,
    failed: (outcome: Outcome) => boolean,
  ): Promise<Guarded<Outcome>> {
    const wait = this.retryAfter(ip);
    if (wait > 0) return { retryAfter: wait };
    const admission = await this.admit(ip);
    if ('retryAfter' in admission) return admission;
    const attempt = admission.attempt;
    let outcome: Outcome;
    try {
      outcome = await check();
    } catch (error) {
      this.release(ip, attempt).catch(() => {});
      throw error;
    }
    if (failed(outcome)) {
      await this.fail(ip, attempt).catch(() => {});
    } else {
      // Not awaited: the request need not wait for it, and the store runs it before this
      // client's next call on the same connection.
      this.release(ip, attempt).catch(() => {});
    }
    return { outcome };
  }

  /** Ends an admitted attempt whose check passed (or could not be made): it counts for nothing. */
  release(ip: string, attempt: string): Promise<void> {
    return this.#deadlines
      .run('releaseAttempt', () => this.#store.releaseAttempt(ip, attempt))
      .finally(() => this.#wake(ip));
  }

  /** Ends an admitted attempt as a failure; this instance blocks the IP once the count reaches the limit. */
  async fail(ip: string, attempt: string): Promise<void> {
    try {
      const { count, resetAt } = await this.#deadlines.run('failAttempt', () =>
        this.#store.failAttempt(ip, attempt, this.window),
      );
      if (count >= this.maxFailures) this.#block(ip, resetAt);
    } finally {
      this.#wake(ip);
    }
  }

  /** Resolves when an attempt of this IP ends here, or after a short while (one may end elsewhere). */
  #turn(ip: string): Promise<void> {
    return new Promise((resolve) => {
      const queue = this.#waiting.get(ip) ?? [];
      this.#waiting.set(ip, queue);
      const done = () => {
        clearTimeout(timer);
        const at = queue.indexOf(done);
        if (at !== -1) queue.splice(at, 1);
        if (queue.length === 0 && this.#waiting.get(ip) === queue) this.#waiting.delete(ip);
        resolve();
      };
      const timer = setTimeout(done, POLL_INTERVAL);
      timer.unref?.();
      queue.push(done);
    });
  }

  /** Lets the longest-waiting attempt of this IP ask again: a place may be free. */
  #wake(ip: string): void {
    this.#waiting.get(ip)?.[0]?.();
  }

  #block(ip: string, until: number): void {
    this.#blockedUntil.delete(ip);
    this.#blockedUntil.set(ip, until);
    if (this.#blockedUntil.size > MAX_BLOCKED) {
      const oldest = this.#blockedUntil.keys().next().value;
      if (oldest !== undefined) this.#blockedUntil.delete(oldest);
    }
  }
}
