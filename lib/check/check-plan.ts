import type { CheckPlan, RecentIp, StoredToken } from '../store';
import type { TokenTerms } from '../token-format';
import { isRecentIp } from './recent-ips';

/**
 * The least time between two writes of a token that a new client IP may cause: a use from an address
 * the record does not hold is written at once, but an attacker rotating addresses cannot make a token
 * write more often than this. A new address seen meanwhile is kept by the service (`PendingIps`) and
 * written with the token's next write, which it makes due once the gap is over.
 */
export const NEW_IP_WRITE_GAP = 1000;

/**
 * What one check must do to a token's record, from the terms the token's text carries: the service
 * decides it here, once, and every store applies it as it is (see `TokenStore.verify`).
 *
 * A sliding token's expiry moves to `now + window`, never past its hard limit; a token with only a
 * hard limit keeps its expiry. A use is written down at most once per `touchInterval`, or sooner for
 * an address new to the token (or addresses `pending` from earlier checks), once per
 * `NEW_IP_WRITE_GAP` at most. `ip` is what to record with a written use: undefined when the service
 * records no IPs, null for a client without a valid address.
 */
export function planCheck(
  terms: TokenTerms,
  now: number,
  touchInterval: number,
  ip: string | null | undefined,
  pending?: readonly RecentIp[],
): CheckPlan {
  return {
    now,
    expiresAt: slidingExpiry(terms, now),
    touchIfBefore: now - touchInterval,
    ip,
    // Always there, so that every plan has one shape: the stores' request path stays monomorphic.
    newIpIfBefore: typeof ip === 'string' || pending !== undefined ? now - NEW_IP_WRITE_GAP : undefined,
    pendingIps: pending,
  };
}

/**
 * The plan of the write that puts a token's waiting addresses (`PendingIps`) on record when no use
 * came to make it: the use at the latest of them, from its address and at its time, the others
 * pending; due only once `NEW_IP_WRITE_GAP` has passed since the token's last write, by `now`, and
 * only if that write is not newer than the use. It moves no expiry: it is no use of its own, only
 * the record of those that were.
 */
export function planFlush(waiting: readonly RecentIp[], now: number, touchInterval: number): CheckPlan {
  let latest = waiting[0]!;
  for (const entry of waiting) if (entry.lastSeenAt >= latest.lastSeenAt) latest = entry;
  const others = waiting.filter((entry) => entry !== latest);
  return {
    now: latest.lastSeenAt,
    expiresAt: null,
    touchIfBefore: latest.lastSeenAt - touchInterval,
    ip: latest.ip,
    // Nor after a write newer than that use: the record's last use never goes back.
    newIpIfBefore: Math.min(now - NEW_IP_WRITE_GAP, latest.lastSeenAt),
    pendingIps: others.length > 0 ? others : undefined,
  };
}

/**
 * Whether a check with this plan writes a use to this record (see `TokenStore.verify`): none yet or
 * the touch interval over, or an address the record does not hold, or pending ones, once the gap
 * since the last write is over. The stores that decide in TypeScript call this; the others say the same in their
 * own language (redis-scripts.ts, postgres-statements.ts).
 */
export function useIsDue(record: Pick<StoredToken, 'lastUsedAt' | 'recentIps'>, plan: CheckPlan): boolean {
  const last = record.lastUsedAt;
  if (last === null || last <= plan.touchIfBefore) return true;
  const gap = plan.newIpIfBefore;
  if (gap === undefined || last > gap) return false;
  const pending = plan.pendingIps;
  return (
    (pending !== undefined && pending.length > 0) ||
    (typeof plan.ip === 'string' && !isRecentIp(record.recentIps, plan.ip))
  );
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
