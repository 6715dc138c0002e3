/**
 * What the failed-authentication throttle needs of a store (`throttle` on the middleware, forward
 * auth, the introspection router): a store of its own beside `TokenStore`, which the memory, Redis
 * and PostgreSQL stores also implement. Every method is atomic across app instances that share the
 * store; the throttle puts its deadline around each call, as the token service does around its own.
 */
export interface AttemptStore {
  /**
   * Reserves one authentication attempt for `key` (a client IP) before its token lookup: granted only
   * while the failures counted in the current window plus the attempts still reserved stay below
   * `limit`; a refusal changes nothing. A reservation lapses by itself `window` ms after it was made,
   * should it never be released.
   */
  reserveAttempt(key: string, limit: number, window: number): Promise<AttemptReservation>;

  /** Drops a reservation, counting nothing (the check passed). */
  releaseAttempt(key: string, attempt: string): Promise<void>;

  /**
   * Turns a reservation into a failure (also when the reservation has lapsed), counted in a fixed
   * window of `window` ms that starts with the first failure. Returns the failure count after.
   */
  failAttempt(key: string, attempt: string, window: number): Promise<FailureCount>;
}

/**
 * What `reserveAttempt` answers: the reserved attempt's id, or null if the client is over the limit
 * (its failures and the attempts it has in flight already make `limit`), and the counts it saw.
 */
export interface AttemptReservation {
  attempt: string | null;
  /** Failures counted in the current window. */
  failures: number;
  /** Attempts reserved and not yet released (this one among them, if granted). */
  pending: number;
  /** When the failure window ends (ms since the epoch); meaningful only while `failures` > 0. */
  resetAt: number;
}

/** A fixed-window failure counter. */
export interface FailureCount {
  count: number;
  /** When the window ends and the count starts again from zero (ms since the epoch). */
  resetAt: number;
}

const ATTEMPT_METHODS = ['reserveAttempt', 'releaseAttempt', 'failAttempt'] as const;

/** Whether a store has the throttle's three methods. */
export function isAttemptStore(store: unknown): store is AttemptStore {
  const methods = store as Partial<Record<(typeof ATTEMPT_METHODS)[number], unknown>> | null | undefined;
  return ATTEMPT_METHODS.every((method) => typeof methods?.[method] === 'function');
}

/** The three methods' names, as a store that lacks one is told. */
export const attemptMethodList = ATTEMPT_METHODS.map((method) => `${method}()`).join(', ');
