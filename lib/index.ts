/**
 * personal-token-auth: personal access tokens for Express.
 *
 * Everything public is listed here, grouped by what it is for; anything not exported from this file
 * is internal. Stores live in their own entry points: `personal-token-auth/adapters/redis`,
 * `personal-token-auth/adapters/postgres` and `personal-token-auth/adapters/memory`. (Biome's import sorting is off for this file, to keep the groups.)
 */

// The middleware most apps need, and the route guard for scoped tokens.
export {
  type PersonalTokenAuthMiddleware,
  type PersonalTokenAuthOptions,
  personalTokenAuth,
} from './http/middleware';
export {
  hasNodePermission,
  type NodeIdSource,
  type NodePermissionOptions,
  requireNodePermission,
} from './http/node-permission';
export { type PersonalTokenAuthInfo, personalToken } from './http/auth-info';
export type { ResolveAncestors } from './scopes';
export type { ThrottleOptions } from './http/failure-throttle';

// Issuing, verifying, listing, rotating and revoking tokens.
export {
  type AuthenticateOptions,
  type Authentication,
  TokenService,
  type TokenServiceOptions,
} from './manage/token-service';
export type { IssueForOptions, IssueOptions, RotateOptions } from './manage/issue-options';
export type { IssuedToken, TokenInfo, TokenInfoPage } from './manage/token-info';
export type { ListExpiringOptions, ListPageOptions } from './manage/token-lister';
export type { CanAccess, ResolveUser } from './manage/token-maker';
export { type LeakVerdict, MAX_LEAK_SOURCE, type RevokeLeakedOptions } from './manage/leak-source';
// Finding tokens in text that should hold none (a log line, an upload, a file): by format and checksum.
export { scanForTokens, type TokenFinding, TokenScanner } from './manage/token-scan';

// Self-service token management over HTTP, behind the app's own authentication.
export { type TokenRouterErrorBody, type TokenRouterOptions, tokenRouter } from './http/token-router';
export { type TokenJson, tokenToJson } from './http/token-json';

// Token introspection (RFC 7662), for services in any language that are handed a token.
export {
  type IntrospectionClients,
  type IntrospectionRouterOptions,
  introspectionRouter,
} from './http/introspection-router';

// Revocation by whoever finds a token leaked: RFC 7009's endpoint, and GitHub's secret-scanning alerts.
export {
  DEFAULT_LEAK_REPORT_THROTTLE,
  LEAK_REPORT_PATH,
  type LeakReportRouterOptions,
  leakReportRouter,
} from './http/leak-report-router';
export {
  SECRET_SCANNING_PATH,
  type SecretScanningLabel,
  type SecretScanningReceiverOptions,
  secretScanningReceiver,
} from './http/secret-scanning-receiver';
export type { SecretScanningPublicKey, SecretScanningPublicKeys } from './http/secret-scanning-keys';

// Forward auth: answering the sub-request of nginx `auth_request`, Caddy `forward_auth` or Traefik `ForwardAuth`.
export {
  type ForwardAuthOptions,
  forwardAuth,
  type IdentityHeaders,
  type NodeAccess,
  type ResolveNode,
} from './http/forward-auth';
// How a request-target and a WebDAV Destination name a path, for an app's own WebDAV server.
export { type DestinationPath, destinationPath, normalisePath } from './http/request-target';

// Audit events, and a ready sink for pino.
export {
  type OnEvent,
  type PinoLike,
  pinoEventLogger,
  type RejectReason,
  type TokenEvent,
  type TokenEventType,
} from './events';

// Passport strategies, for apps that run passport themselves.
export {
  BearerTokenStrategy,
  type BearerTokenStrategyOptions,
  type TokenStrategyOptions,
} from './http/bearer-strategy';
export { BasicTokenStrategy, type BasicTokenStrategyOptions } from './http/basic-strategy';

// Parsers, formats and defaults shared with the CLI.
export { formatDuration, parseDuration } from './duration';
export { formatScope, INTROSPECT_SCOPE, type Permission, parseScope, type Scope } from './scopes';
export { DEFAULT_TOKEN_PREFIX } from './token-format';
export { DEFAULT_TOKEN_LIMITS, type TokenLimits } from './manage/token-limits';
export { DEFAULT_KEY_PREFIX, DEFAULT_REDIS_URL, redisUrlFromEnv } from './redis-defaults';

// The store contract, for writing a store of one's own.
export {
  type AttemptReservation,
  type CheckedToken,
  type CheckPlan,
  type CreateOptions,
  type CreateOutcome,
  type ExpiringPageRequest,
  type FailureCount,
  MAX_FAMILY_DEPTH,
  MAX_RECENT_IPS,
  type PageRequest,
  type RecentIp,
  type RevokedToken,
  type StoredToken,
  TOMBSTONE_LIFE,
  type TokenPage,
  type TokenStore,
} from './store';
// The failed-authentication throttle's store, which the memory, Redis and PostgreSQL stores implement too.
export type { AttemptStore } from './attempt-store';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './token-page';
export { type ExpiringPosition, formatExpiringCursor, parseExpiringCursor } from './expiring-page';
// The in-process cache's options, and the invalidation channel a store offers for it.
export type { TokenCacheOptions } from './check/token-cache';
export {
  InProcessInvalidations,
  type InvalidationChannel,
  type InvalidationSubscription,
} from './cache-invalidation';

// Errors, each with a stable `code`.
export {
  BroaderThanCallerError,
  type BroaderThanCallerCode,
  CallerNotLiveError,
  FamilyRevocationIncompleteError,
  InvalidDurationError,
  InvalidPageError,
  InvalidScopeError,
  InvalidTokenOptionsError,
  MissingDependencyError,
  NotTokenAuthenticatedError,
  OptionsError,
  type OptionsErrorCode,
  PersonalTokenError,
  RevokeAllIncompleteError,
  RevocationNotDurableError,
  ScopeNotAllowedError,
  StoreUnavailableError,
  TokenLimitError,
  TokenPolicyError,
  type TokenPolicyCode,
  UnknownUserError,
} from './errors';
