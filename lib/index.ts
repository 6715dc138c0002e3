/**
 * personal-token-auth: personal access tokens for Express.
 *
 * Everything public is listed here; anything not exported from this file is internal. Stores live
 * in their own entry points: `personal-token-auth/adapters/redis` and `.../adapters/memory`.
 */

export { DEFAULT_KEY_PREFIX } from '../adapters/redis';
export type { PersonalTokenAuthInfo } from './auth-info';
export { BasicTokenStrategy, type BasicTokenStrategyOptions } from './basic-strategy';
// Passport strategies, for apps that run passport themselves.
export {
  BearerTokenStrategy,
  type BearerTokenStrategyOptions,
  type TokenStrategyOptions,
} from './bearer-strategy';
export { DEFAULT_REDIS_URL, redisUrlFromEnv } from './default-token-service';
// Parsers and formats shared with the CLI.
export { formatDuration, parseDuration } from './duration';
// Errors, each with a stable `code`.
export {
  BroaderThanCallerError,
  InvalidDurationError,
  InvalidScopeError,
  InvalidTokenOptionsError,
  PersonalTokenError,
  ScopeNotAllowedError,
  StoreUnavailableError,
  TokenLimitError,
  UnknownUserError,
} from './errors';
// Audit events, and a ready sink for pino.
export {
  type OnEvent,
  type PinoLike,
  pinoEventLogger,
  type RejectReason,
  type TokenEvent,
  type TokenEventType,
} from './events';
export type { ThrottleOptions } from './failure-throttle';
// The middleware most apps need, and the route guard for scoped tokens.
export {
  type PersonalTokenAuthMiddleware,
  type PersonalTokenAuthOptions,
  personalTokenAuth,
} from './middleware';
export { hasNodePermission, type NodePermissionOptions, requireNodePermission } from './node-permission';
export type { ResolveAncestors } from './request-context';
export { formatScope, type Permission, parseScope, type Scope } from './scopes';
// The store contract, for writing a store of one's own.
export type { FailureCount, RevokedToken, StoredToken, TokenStore, VerifyOptions } from './store';
export { DEFAULT_TOKEN_PREFIX } from './token-format';
// Self-service token management over HTTP, behind the app's own authentication.
export {
  type TokenJson,
  type TokenRouterErrorBody,
  type TokenRouterOptions,
  tokenRouter,
} from './token-router';
// Issuing, verifying, listing and revoking tokens.
export {
  type Authentication,
  type CanAccess,
  type IssuedToken,
  type IssueOptions,
  type ResolveUser,
  type RotateOptions,
  type TokenInfo,
  TokenService,
  type TokenServiceOptions,
} from './token-service';
