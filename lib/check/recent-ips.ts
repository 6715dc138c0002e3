import { isIP } from 'node:net';
import { MAX_RECENT_IPS, type RecentIp } from '../store';

/**
 * The least time between two writes of a token that a new client IP may cause: a use from an address
 * the record does not hold is written at once, but an attacker rotating addresses cannot make a token
 * write more often than this. A new address seen meanwhile is kept by the checker (`PendingIps`) and
 * written with the token's next write, which it makes due once the gap is over.
 */
export const NEW_IP_WRITE_GAP = 1000;

// The longest text form of an IPv6 address (with an IPv4 tail), without a zone.
const MAX_ADDRESS_LENGTH = 45;

/**
 * The text if it is an address to store with a token's use, else undefined: an IPv4 or IPv6
 * address of bounded length, without an IPv6 zone (`%eth0`), which `isIP` accepts with any text.
 */
export function recordableAddress(text: string | undefined): string | undefined {
  return text !== undefined && text.length <= MAX_ADDRESS_LENGTH && !text.includes('%') && isIP(text) !== 0
    ? text
    : undefined;
}

/**
 * A record's recent client IPs after a written use at `at` from `ip` (a string, or none), with the
 * addresses `pending` seen before it (`CheckPlan.pendingIps`): every address once, with the latest
 * time it was seen, newest first, and only the `MAX_RECENT_IPS` newest kept. Ties keep the order
 * `ip`, then `pending` as given, then the record's own. Every store applies this same rule (the
 * Lua in redis-scripts.ts and the SQL in postgres-statements.ts say it in their language).
 */
export function withRecentIps(
  recent: readonly RecentIp[],
  pending: readonly RecentIp[] | undefined,
  ip: string | null | undefined,
  at: number,
): RecentIp[] {
  const candidates: RecentIp[] = typeof ip === 'string' ? [{ ip, lastSeenAt: at }] : [];
  if (pending !== undefined) candidates.push(...pending);
  candidates.push(...recent);
  // Stable: equal times keep the order above.
  candidates.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
  const kept: RecentIp[] = [];
  for (const entry of candidates) {
    if (kept.length === MAX_RECENT_IPS) break;
    if (!isRecentIp(kept, entry.ip)) kept.push(copy(entry));
  }
  return kept;
}

const copy = (entry: RecentIp): RecentIp => ({ ip: entry.ip, lastSeenAt: entry.lastSeenAt });

/** Whether `ip` is among a record's recent client IPs. */
export function isRecentIp(recent: readonly RecentIp[], ip: string): boolean {
  for (const entry of recent) if (entry.ip === ip) return true;
  return false;
}

/** The addresses in `after` that `before` did not hold, or undefined when there are none. */
export function addedIps(before: readonly RecentIp[], after: readonly RecentIp[]): string[] | undefined {
  let added: string[] | undefined;
  for (const entry of after) {
    if (isRecentIp(before, entry.ip)) continue;
    added ??= [];
    added.push(entry.ip);
  }
  return added;
}
