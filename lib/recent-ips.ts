import { MAX_RECENT_IPS, type RecentIp } from './store';

/**
 * A record's recent client IPs with `ip` seen at `at`: it goes to the front (out of its old place,
 * if it had one), and only the `MAX_RECENT_IPS` newest stay.
 */
export function withRecentIp(recent: readonly RecentIp[], ip: string, at: number): RecentIp[] {
  const kept = [{ ip, lastSeenAt: at }];
  for (const entry of recent) {
    if (kept.length === MAX_RECENT_IPS) break;
    if (entry.ip !== ip) kept.push({ ip: entry.ip, lastSeenAt: entry.lastSeenAt });
  }
  return kept;
}

/** Whether `ip` is among a record's recent client IPs. */
export function isRecentIp(recent: readonly RecentIp[], ip: string): boolean {
  for (const entry of recent) if (entry.ip === ip) return true;
  return false;
}
