import type { RevokedToken, StoredToken } from '../lib/store';

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
}

const time = (value: string | null): number | null => (value === null ? null : Number(value));

/** The token a row holds, or its tombstone. */
export function tokenOfRow(row: TokenRow): StoredToken | RevokedToken {
  if (row.revoked_at !== null) return { id: row.id, user: row.login, revokedAt: Number(row.revoked_at) };
  return recordOfRow(row);
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
  };
}
