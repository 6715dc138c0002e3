import type { TokenInfo } from '../manage/token-info';

/**
 * A token's public record as JSON: dates in ISO 8601, the window in ms. An allow-list of fields, so
 * that nothing secret can slip in if `TokenInfo` (or an `IssuedToken` passed in) ever carries more.
 */
export interface TokenJson {
  id: string;
  user: string;
  label: string | null;
  scopes: string[];
  createdAt: string;
  expiresAt: string;
  hardExpiresAt: string | null;
  autoRefresh: number | null;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  /** Newest first; `lastSeenAt` in ISO 8601. */
  recentIps: { ip: string; lastSeenAt: string }[];
  /** The personal token that made this one, or null (see `TokenInfo.parentId`). */
  parentId: string | null;
}

export function tokenToJson(token: TokenInfo): TokenJson {
  return {
    id: token.id,
    user: token.user,
    label: token.label,
    scopes: [...token.scopes],
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt.toISOString(),
    hardExpiresAt: token.hardExpiresAt?.toISOString() ?? null,
    autoRefresh: token.autoRefresh,
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    lastUsedIp: token.lastUsedIp,
    recentIps: token.recentIps.map((entry) => ({ ip: entry.ip, lastSeenAt: entry.lastSeenAt.toISOString() })),
    parentId: token.parentId,
  };
}
