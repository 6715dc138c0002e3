import type { CheckPlan } from './store';
import type { TokenTerms } from './token-format';

/**
 * What one check must do to a token's record, from the terms the token's text carries: the service
 * decides it here, once, and every store applies it as it is (see `TokenStore.verify`).
 *
 * A sliding token's expiry moves to `now + window`, never past its hard limit; a token with only a
 * hard limit keeps its expiry. A use is written down at most once per `touchInterval`. `ip` is what
 * to record with a written use: undefined when the service records no IPs.
 */
export function planCheck(
  terms: TokenTerms,
  now: number,
  touchInterval: number,
  ip: string | null | undefined,
): CheckPlan {
  return { now, expiresAt: slidingExpiry(terms, now), touchIfBefore: now - touchInterval, ip };
}

/**
 * The expiry a use at `now` gives a sliding token: `now + window`, never past its hard limit. null
 * for a token with only a hard limit, whose expiry no use moves.
 */
export function slidingExpiry(terms: TokenTerms, now: number): number | null {
  return terms.autoRefresh === null
    ? null
    : Math.min(now + terms.autoRefresh, terms.hardExpiresAt ?? Number.POSITIVE_INFINITY);
}
