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
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE_UNAVAILABLE', message, options);
  }
}
