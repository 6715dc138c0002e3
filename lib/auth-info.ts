/** What a successful personal-token authentication puts in `req.authInfo`. */
export interface PersonalTokenAuthInfo {
  tokenId: string;
  login: string;
  /** Normalised scopes; empty = the user's full access. */
  scopes: string[];
  /** When the token expires if not used again. */
  expiresAt: Date;
  /** The hard limit, or null for a token with only a sliding window. */
  hardExpiresAt: Date | null;
  /** Sliding window in ms, or null for a token with only a hard limit. */
  autoRefresh: number | null;
  /** How the token came: as a Bearer token or as a Basic password. */
  scheme: 'bearer' | 'basic';
}

declare global {
  namespace Express {
    // Optional, because an app may authenticate other requests by other means.
    interface AuthInfo extends Partial<PersonalTokenAuthInfo> {}
  }
}
