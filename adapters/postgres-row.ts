import type { CheckedToken, RecentIp, RevokedToken, StoredToken } from '../lib/store';

/** A row of the tokens table as node-postgres returns it (`bigint` comes back as text). */
export interface TokenRow {
  id: string;
  login: string;
  secret_hash: string;
  label: string | null;
  scopes: string[];
  created_at: string;
  expires_at: string;
  hard_expires_at: string | null;
  auto_refresh: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
  revoked_at: string | null;
  /** `[{ "ip": …, "lastSeenAt": … }]`, newest first; absent where a statement does not read it. */
  recent_ips?: { ip: string; lastSeenAt: number }[] | null;
  /** Absent where a statement does not read it, and in a row written before families. */
  ancestor_ids?: string[] | null;
  /** The check's statement with client IPs: the addresses it added that the record did not hold (null: none). */
  added_ips?: string[] | null;
}

const time = (value: string | null): number | null => (value === null ? null : Number(value));

/** The token a check's row holds (with the IPs it added, if any), or its tombstone. */
export function tokenOfRow(row: TokenRow): CheckedToken | RevokedToken {
  if (row.revoked_at !== null) return { id: row.id, user: row.login, revokedAt: Number(row.revoked_at) };
  const token: CheckedToken = recordOfRow(row);
  const added = row.added_ips;
  if (Array.isArray(added) && added.length > 0) token.addedIps = added.map(String);
  return token;
}

function recentIpsOf(value: TokenRow['recent_ips']): RecentIp[] {
  return (value ?? []).map((entry) => ({ ip: String(entry.ip), lastSeenAt: Number(entry.lastSeenAt) }));
}

/** The record a row holds (the caller knows it is no tombstone). */
export function recordOfRow(row: TokenRow): StoredToken {
  return {
    id: row.id,
    user: row.login,
    secretHash: row.secret_hash,
    label: row.label,
    scopes: row.scopes,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    hardExpiresAt: time(row.hard_expires_at),
    autoRefresh: time(row.auto_refresh),
    lastUsedAt: time(row.last_used_at),
    lastUsedIp: row.last_used_ip,
    recentIps: recentIpsOf(row.recent_ips),
    ancestorIds: row.ancestor_ids ?? [],
  };
}
