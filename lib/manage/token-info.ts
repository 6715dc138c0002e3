import type { StoredToken } from '../store';

/** A token as lists and `req.authInfo` see it: never any secret material. */
export interface TokenInfo {
  id: string;
  user: string;
  label: string | null;
  scopes: string[];
  createdAt: Date;
  /** When it expires if not used again. */
  expiresAt: Date;
  hardExpiresAt: Date | null;
  /** Sliding window in ms, or null. */
  autoRefresh: number | null;
  lastUsedAt: Date | null;
  /** Client IP of the last use, if the service records IPs (`trackIp`). */
  lastUsedIp: string | null;
  /** The last 5 distinct client IPs, newest first, each with when it was last seen (`trackIp`). */
  recentIps: { ip: string; lastSeenAt: Date }[];
  /**
   * The personal token that made this one (`issueFor`, or `rotate` by another token), or null:
   * revoking it revokes this one too (see docs/lifecycle.md, "Child tokens").
   */
  parentId: string | null;
}

/** What `issue()` returns: the only time the token text exists outside the user's hands. */
export interface IssuedToken extends TokenInfo {
  token: string;
}

/** One page of a user's tokens; `cursor` is where the next starts, null after the last. */
export interface TokenInfoPage {
  tokens: TokenInfo[];
  cursor: string | null;
}

/** A record as callers see it: dates, and a copy of everything the record holds. */
export function toInfo(token: StoredToken): TokenInfo {
  return {
    id: token.id,
    user: token.user,
    label: token.label,
    // The caller's own copy: the record may be the cache's.
    scopes: [...token.scopes],
    createdAt: new Date(token.createdAt),
    expiresAt: new Date(token.expiresAt),
    hardExpiresAt: token.hardExpiresAt === null ? null : new Date(token.hardExpiresAt),
    autoRefresh: token.autoRefresh,
    lastUsedAt: token.lastUsedAt === null ? null : new Date(token.lastUsedAt),
    lastUsedIp: token.lastUsedIp,
    recentIps: token.recentIps.map((entry) => ({ ip: entry.ip, lastSeenAt: new Date(entry.lastSeenAt) })),
    parentId: token.ancestorIds?.[0] ?? null,
  };
}
