/**
 * personal-token-auth: personal access tokens for Express.
 *
 * Everything public is listed here; anything not exported from this file is internal. Stores live
 * in their own entry points: `personal-token-auth/adapters/redis` and `.../adapters/memory`.
 */

// The middleware most apps need, and the route guard for scoped tokens.
export { type PersonalTokenAuthMiddleware, type PersonalTokenAuthOptions, personalTokenAuth } from './middleware';
export { hasNodePermission, type NodePermissionOptions, requireNodePermission } from './node-permission';
export type { PersonalTokenAuthInfo } from './auth-info';
export type { ResolveAncestors } from './request-context';

// Issuing, verifying, listing and revoking tokens.
export {
  type Authentication,
  type CanAccess,
  type IssuedToken,
  type IssueOptions,
  type RejectReason,
  type ResolveUser,
  type TokenInfo,
  TokenService,
  type TokenServiceOptions,
} from './token-service';

// Passport strategies, for apps that run passport themselves.
export { BearerTokenStrategy, type BearerTokenStrategyOptions, type TokenStrategyOptions } from './bearer-strategy';
export { BasicTokenStrategy, type BasicTokenStrategyOptions } from './basic-strategy';

// Parsers and formats shared with the CLI.
export { formatDuration, parseDuration } from './duration';
export { formatScope, type Permission, parseScope, type Scope } from './scopes';
export { DEFAULT_TOKEN_PREFIX } from './token-format';
export { DEFAULT_REDIS_URL, redisUrlFromEnv } from './default-token-service';
export { DEFAULT_KEY_PREFIX } from '../adapters/redis';

// The store contract, for writing a store of one's own.
export type { StoredToken, TokenStore, VerifyOptions } from './store';

// Errors, each with a stable `code`.
export {
  InvalidDurationError,
  InvalidScopeError,
  InvalidTokenOptionsError,
  PersonalTokenError,
  ScopeNotAllowedError,
  StoreUnavailableError,
  UnknownUserError,
} from './errors';
