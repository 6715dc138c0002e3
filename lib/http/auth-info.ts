import type { Request } from 'express';
import { NotTokenAuthenticatedError } from '../errors';
import type { Scheme } from '../events';

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
  scheme: Scheme;
}

/**
 * The personal token that authenticated `req`, typed in full: login, token id, scopes, expiry.
 * Throws `NotTokenAuthenticatedError` (status 401) when no personal token did, so that a route can
 * rely on it without checking every field for `undefined`.
 */
export function personalToken(req: Request): PersonalTokenAuthInfo {
  const info = req.authInfo;
  if (typeof info?.tokenId !== 'string' || typeof info.login !== 'string') {
    throw new NotTokenAuthenticatedError();
  }
  return info as PersonalTokenAuthInfo;
}

// The same declarations as @types/passport's, so that `req.user` and `req.authInfo` are typed with or
// without it (the package depends on no types package; see docs/strategies.md). An app says what its
// users are by adding to `Express.User` (the README shows how), or reads a token's facts through
// `personalToken(req)`.
declare global {
  namespace Express {
    // Empty: the app says what its users are (or @types/passport declares it the same way).
    interface User {}
    // Optional, because an app may authenticate other requests by other means.
    interface AuthInfo extends Partial<PersonalTokenAuthInfo> {}
    interface Request {
      /** The user a personal token (or the app's own authentication) authenticated. */
      user?: User | undefined;
      /** Set by a successful personal-token authentication; `personalToken(req)` reads it typed. */
      authInfo?: AuthInfo | undefined;
    }
  }
}
