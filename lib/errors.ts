/**
 * The library's errors. Each has a stable `code` so callers (and the CLI) can branch on it without
 * parsing messages. None of them ever carries a token: messages name inputs like durations or
 * scopes, never secrets.
 */
export class PersonalTokenError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A duration that is not a positive whole number of s, m, h or d (or of milliseconds). */
export class InvalidDurationError extends PersonalTokenError {
  constructor(message: string) {
    super('ERR_INVALID_DURATION', message);
  }
}

/** A scope outside the grammar `node:<NODE_ID>:r|w|rw`. */
export class InvalidScopeError extends PersonalTokenError {
  constructor(message: string) {
    super('ERR_INVALID_SCOPE', message);
  }
}

/** Options of `issue()` that do not make a token (no expiry at all, an empty user, a bad label...). */
export class InvalidTokenOptionsError extends PersonalTokenError {
  constructor(message: string) {
    super('ERR_INVALID_TOKEN_OPTIONS', message);
  }
}

/** `resolveUser` did not know the login a token was to be issued for. */
export class UnknownUserError extends PersonalTokenError {
  constructor(login: string) {
    super('ERR_UNKNOWN_USER', `Unknown or disabled user "${login}"`);
  }
}

/** `canAccess` refused a scope: a token can only narrow what its user may already do. */
export class ScopeNotAllowedError extends PersonalTokenError {
  constructor(message: string) {
    super('ERR_SCOPE_NOT_ALLOWED', message);
  }
}

/**
 * The token store failed or did not answer in time. Requests get a 503 with `Retry-After`, never a
 * pass: an authentication layer must fail closed.
 */
export class StoreUnavailableError extends PersonalTokenError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'ERR_STORE_UNAVAILABLE', message, options);
  }
}

/**
 * A revocation (or a hard limit brought forward) that the store applied but could not confirm
 * durable: the Redis master has it, but its replicas did not acknowledge it in time, so a failover
 * could bring the token back. A 503 like any store failure (`instanceof StoreUnavailableError`), with
 * its own code; revoking again is safe and confirms it.
 */
export class RevocationNotDurableError extends StoreUnavailableError {
  constructor(detail: string) {
    super(
      `The token is revoked on the Redis master, but ${detail}: it may come back after a failover; revoke it again`,
      { code: 'ERR_REVOCATION_NOT_DURABLE' },
    );
  }
}

/** The user already has `maxTokensPerUser` live tokens. */
export class TokenLimitError extends PersonalTokenError {
  constructor(login: string, limit: number) {
    super(
      'ERR_TOKEN_LIMIT',
      `User "${login}" already has ${limit} live tokens, the most allowed (maxTokensPerUser); revoke one first`,
    );
  }
}

/** Why a token may not make another one (see `BroaderThanCallerError`). */
export type BroaderThanCallerCode =
  | 'ERR_SCOPE_BROADER_THAN_CALLER'
  | 'ERR_EXPIRY_LATER_THAN_CALLER'
  | 'ERR_WINDOW_LONGER_THAN_CALLER'
  | 'ERR_CALLER_UNKNOWN';

/**
 * A token asked for a token that would outreach it (`issueFor()`, or rotation through the router): a
 * scope the caller's token does not cover (`ERR_SCOPE_BROADER_THAN_CALLER`), a hard limit after the
 * caller's or a caller already expired (`ERR_EXPIRY_LATER_THAN_CALLER`), a longer idle life than a
 * sliding caller's (`ERR_WINDOW_LONGER_THAN_CALLER`), or a request whose token's limits are not
 * known (`ERR_CALLER_UNKNOWN`: `req.authInfo` not set by this library). A token can only hand on
 * what it has.
 */
export class BroaderThanCallerError extends PersonalTokenError {
  constructor(code: BroaderThanCallerCode, message: string) {
    super(code, message);
  }
}

/** Which policy limit a token request broke (see `TokenPolicyError`). */
export type TokenPolicyCode =
  | 'ERR_TOO_MANY_SCOPES'
  | 'ERR_EXPIRY_TOO_LONG'
  | 'ERR_WINDOW_TOO_LONG'
  | 'ERR_FAMILY_TOO_DEEP';

/**
 * A token request outside the app's policy (`TokenService` options `maxScopesPerToken`,
 * `maxExpiresIn`, `maxAutoRefresh`), or made by a token that already has `MAX_FAMILY_DEPTH`
 * ancestors (`ERR_FAMILY_TOO_DEEP`); the message names the limit. Too many live tokens is
 * `TokenLimitError`.
 */
export class TokenPolicyError extends PersonalTokenError {
  constructor(code: TokenPolicyCode, message: string) {
    super(code, message);
  }
}

/** A page of a listing asked for with a cursor that no listing gave, or with a size out of range. */
export class InvalidPageError extends PersonalTokenError {
  constructor(message: string) {
    super('ERR_INVALID_PAGE', message);
  }
}

/**
 * `revokeAll()` stopped when the store failed: `revoked` tokens are known to be revoked, the others
 * may not be (a call that missed its deadline may still complete). A store failure like any other
 * (`ERR_STORE_UNAVAILABLE`, a 503): running it again revokes the rest.
 */
export class RevokeAllIncompleteError extends StoreUnavailableError {
  readonly revoked: number;
  constructor(login: string, revoked: number, cause: StoreUnavailableError) {
    super(
      `Revoked ${revoked} tokens of user "${login}" before the token store failed; the others may still be live: ${cause.message}`,
      { cause },
    );
    this.revoked = revoked;
  }
}

/**
 * A personal token asked for a token (`issueFor`, `rotate` with a caller) but is itself no longer
 * live: revoked (perhaps while the request ran, with the rest of its family) or expired. Nothing is
 * left behind: a token made meanwhile is withdrawn. The router answers 401, as for the token itself.
 */
export class CallerNotLiveError extends PersonalTokenError {
  constructor() {
    super(
      'ERR_CALLER_NOT_LIVE',
      'The token making the request has been revoked or has expired: it can make no token',
    );
  }
}

/**
 * `revoke()` (or a rotation's revocation) stopped before it had revoked all of the token's
 * descendants: the store failed, or the family was larger than one call revokes. `revoked` tokens
 * are known to be revoked (the token itself among them, if this call revoked it), the others may not
 * be. A store failure like any other (`ERR_STORE_UNAVAILABLE`, a 503): revoking the token again
 * revokes the rest, even once the token itself is gone.
 */
export class FamilyRevocationIncompleteError extends StoreUnavailableError {
  readonly revoked: number;
  constructor(tokenId: string, revoked: number, reason: string, cause?: unknown) {
    super(
      `Revoked ${revoked} tokens of the family of token ${tokenId} before ${reason}; its other descendants may still be live: revoke it again`,
      { cause },
    );
    this.revoked = revoked;
  }
}

/**
 * `personalToken(req)` was called on a request that no personal token authenticated: a route that is
 * not behind `personalTokenAuth()`, or one that also lets other authentication through. `status`
 * makes Express answer 401 rather than 500 if the app lets it propagate.
 */
export class NotTokenAuthenticatedError extends PersonalTokenError {
  readonly status = 401;
  constructor() {
    super('ERR_NOT_TOKEN_AUTHENTICATED', 'No personal token authenticated this request');
  }
}

/**
 * An optional peer dependency that the chosen set-up needs is not installed: `ioredis` for the
 * zero-argument default or the CLI's Redis, `pg` for the CLI's PostgreSQL.
 */
export class MissingDependencyError extends PersonalTokenError {
  /** The npm package to install. */
  readonly packageName: string;
  constructor(packageName: string, neededBy: string) {
    super(
      'ERR_MISSING_DEPENDENCY',
      `${neededBy} needs the ${packageName} package, which is not installed: npm install ${packageName}`,
    );
    this.packageName = packageName;
  }
}

/** What is wrong with an options object (see `OptionsError`). */
export type OptionsErrorCode = 'ERR_UNKNOWN_OPTION' | 'ERR_CONFLICTING_OPTIONS' | 'ERR_OPTIONS_NOT_OBJECT';

/**
 * Options a constructor or factory cannot make sense of: a name it does not know
 * (`ERR_UNKNOWN_OPTION`, with the nearest known name when one is close), two options that cannot go
 * together (`ERR_CONFLICTING_OPTIONS`), or options that are no object at all
 * (`ERR_OPTIONS_NOT_OBJECT`). A `TypeError`, as every programmer error of the library is: a silent
 * fallback would hide it, and for the middleware's options one could open a Redis connection the app
 * never asked for. `options` names the options at fault (none for `ERR_OPTIONS_NOT_OBJECT`).
 */
export class OptionsError extends TypeError {
  readonly code: OptionsErrorCode;
  readonly options: readonly string[];
  constructor(code: OptionsErrorCode, message: string, options: readonly string[] = []) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.options = options;
  }
}
