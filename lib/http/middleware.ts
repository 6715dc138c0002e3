import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TokenChecker } from '../check/token-checker';
import { StoreUnavailableError } from '../errors';
import { emit, type RejectReason, type Scheme } from '../events';
import type { ResolveUser } from '../manage/token-maker';
import type { TokenService } from '../manage/token-service';
import type { StoredToken } from '../store';
import type { PersonalTokenAuthInfo } from './auth-info';
import { type BearerError, basicChallenge, bearerChallenge, DEFAULT_REALM } from './challenges';
import { clientIp } from './client-ip';
import type { FailureThrottle } from './failure-throttle';
import { middlewareSettings, type PersonalTokenAuthOptions } from './middleware-options';
import { setRequestContext } from './request-context';

// The request path on the HTTP side, top to bottom: the middleware reads a request's credentials
// (`readCredentials`), has them checked (`authenticateCredentials`, which runs the token checker of
// lib/check/) and answers. The Passport strategies and the introspection endpoint read and check
// credentials with the same two functions.

export type { Scheme } from '../events';
export type { PersonalTokenAuthOptions } from './middleware-options';

/** How a request ends: its credentials' outcome, or the throttle's refusal before any check. */
type Outcome = CredentialsOutcome | { kind: 'throttled'; ip: string; retryAfter: number };

// Clients whose forwarded address is not one share a single throttling key.
const NO_ADDRESS = 'no-address';

export type PersonalTokenAuthMiddleware = RequestHandler & {
  /** The token service the middleware checks against (to issue, list or revoke tokens). */
  tokens: TokenService;
};

/**
 * Express middleware: authenticates a request by a personal token, as `Authorization: Bearer <token>`
 * or as the password of Basic `login:token`. On success sets `req.user` and `req.authInfo`.
 *
 * It runs the same credential parsing and verification as `BearerTokenStrategy` and
 * `BasicTokenStrategy`, directly rather than through `passport.authenticate()`: passport's
 * per-request bookkeeping costs more than the Redis lookup itself, and this middleware needs none
 * of it (no sessions, no redirects). It never touches the app's global `passport`.
 */
export function personalTokenAuth(options: PersonalTokenAuthOptions = {}): PersonalTokenAuthMiddleware {
  const settings = middlewareSettings(options);
  const { tokens, schemes, realm, resolveUser, optional, retryAfter, onEvent, throttle } = settings;
  const checker = tokens.checker;
  const context = { realm, resolveAncestors: settings.resolveAncestors, onEvent };
  // requireNodePermission() falls back to these very defaults when a request has no context.
  const contextNeeded =
    realm !== DEFAULT_REALM || settings.resolveAncestors !== undefined || onEvent !== undefined;

  // What every check passes; only the client IP changes, and only when the service records it.
  const check: CredentialsCheck = { checker, schemes, resolveUser };

  /**
   * One request, top to bottom: read the credentials, check them (admitted by the throttle first, when
   * there is one), answer. Not an async function, and it touches `req` and `res` only here and in
   * `answer`: Express gives every request objects of a shape of their own, which V8 cannot keep
   * optimized code for, so the work of the check runs in functions that never see them.
   */
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const credentials = readCredentials(req.headers.authorization);
    // `req.ip` runs Express' trust-proxy logic: only worth it when the IP is recorded.
    // (The service records it only if it is an address.)
    const checking = checker.trackIp ? { ...check, ip: req.ip } : check;
    // Only attempts are throttled: a request without credentials costs no lookup and never counts.
    const outcome =
      throttle && attemptedScheme(credentials, schemes) !== undefined
        ? throttled(credentials, checking, clientIp(req) ?? NO_ADDRESS, throttle)
        : authenticateCredentials(credentials, checking);
    outcome.then(
      (outcome) => {
        // Whatever goes wrong in answering goes to Express, never to an unhandled rejection.
        try {
          answer(req, res, next, outcome);
        } catch (error) {
          next(error);
        }
      },
      (error: unknown) => {
        // Fail closed: a store that cannot answer never lets a request through.
        if (error instanceof StoreUnavailableError) {
          res.status(503).set('Retry-After', retryAfter).json({ error: 'temporarily_unavailable' });
        } else {
          next(error);
        }
      },
    );
  };

  function answer(req: Request, res: Response, next: NextFunction, outcome: Outcome) {
    switch (outcome.kind) {
      case 'success':
        req.user = outcome.user as Express.User;
        req.authInfo = outcome.info;
        if (contextNeeded) setRequestContext(req, context);
        if (onEvent) {
          emit(onEvent, {
            type: 'authenticated',
            time: new Date(tokens.now()),
            tokenId: outcome.info.tokenId,
            login: outcome.info.login,
            ip: clientIp(req),
            scheme: outcome.info.scheme,
          });
        }
        return next();
      case 'absent':
        if (optional) return next();
        return refuse(res, 401, 'unauthorized');
      case 'malformed':
        reportRejection(req, outcome);
        return refuse(res, 400, 'invalid_request', 'invalid_request');
      case 'rejected':
        reportRejection(req, outcome);
        return refuse(res, 401, 'invalid_token', 'invalid_token');
      case 'throttled':
        if (onEvent) {
          emit(onEvent, {
            type: 'throttled',
            time: new Date(tokens.now()),
            ip: outcome.ip,
            retryAfter: outcome.retryAfter,
          });
        }
        res.status(429).set('Retry-After', String(outcome.retryAfter)).json({ error: 'too_many_requests' });
        return;
    }
  }

  /** The check of an attempt under the throttle (see `FailureThrottle.guard`): refusals count as failures. */
  async function throttled(
    credentials: Credentials,
    checking: CredentialsCheck,
    ip: string,
    throttle: FailureThrottle,
  ): Promise<Outcome> {
    const guarded = await throttle.guard(
      ip,
      () => authenticateCredentials(credentials, checking),
      (outcome) => outcome.kind === 'malformed' || outcome.kind === 'rejected',
    );
    return 'outcome' in guarded ? guarded.outcome : { kind: 'throttled', ip, retryAfter: guarded.retryAfter };
  }

  function refuse(res: Response, status: 400 | 401, error: string, bearerError?: BearerError): void {
    const challenges = schemes.map((scheme) =>
      scheme === 'bearer' ? bearerChallenge(realm, bearerError) : basicChallenge(realm),
    );
    res.status(status).set('WWW-Authenticate', challenges).json({ error });
  }

  // Events are built only when someone listens: the success path runs on every request.
  function reportRejection(
    req: Request,
    outcome: Extract<CredentialsOutcome, { kind: 'malformed' | 'rejected' }>,
  ): void {
    if (!onEvent) return;
    emit(onEvent, {
      type: 'rejected',
      time: new Date(tokens.now()),
      reason: outcome.kind === 'malformed' ? 'malformed' : outcome.reason,
      tokenId: outcome.kind === 'rejected' ? outcome.tokenId : undefined,
      login: outcome.kind === 'rejected' ? outcome.login : undefined,
      ip: clientIp(req),
      scheme: outcome.scheme,
    });
  }

  return Object.assign(middleware, { tokens });
}

/**
 * What a request's `Authorization` header holds, as the middleware and the Passport strategies read
 * it (`readCredentials`), fixing what passport-http and passport-http-bearer get wrong: the scheme
 * is matched whole and in any case (`bearer`, `BASIC`), a Basic password may contain `:` (split at
 * the first one only, RFC 7617), Basic credentials are UTF-8 and must be valid base64, and nothing
 * is read from the query string.
 */
export type Credentials =
  /** No header, or a scheme this library does not handle (left to the app's other authentication). */
  | { scheme: 'none' }
  /** A Bearer or Basic header that breaks the grammar: a 400. */
  | { scheme: 'malformed'; attempted: Scheme }
  | { scheme: 'bearer'; token: string }
  | { scheme: 'basic'; login: string; password: string };

const NONE: Credentials = { scheme: 'none' };
// RFC 7235: auth-scheme 1*SP token68.
const HEADER = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: +(.*))?$/s;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: every ASCII character is the point
const ASCII = /^[\x00-\x7f]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readCredentials(header: string | undefined): Credentials {
  if (!header) return NONE;
  // What nearly every client sends, without the general grammar below (every request runs this).
  if (header.startsWith('Bearer ')) {
    const token = header.slice(7);
    if (TOKEN68.test(token)) return { scheme: 'bearer', token };
  } else if (header.startsWith('Basic ')) {
    const value = header.slice(6);
    // Untrimmed values go the general way, which trims them.
    if (value === value.trim()) return readBasic(value);
  }
  const match = HEADER.exec(header);
  if (!match) return NONE;
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return NONE;
  const value = match[2]?.trim() ?? '';
  if (scheme === 'bearer') {
    return TOKEN68.test(value)
      ? { scheme: 'bearer', token: value }
      : { scheme: 'malformed', attempted: 'bearer' };
  }
  return readBasic(value);
}

const MALFORMED_BASIC: Credentials = { scheme: 'malformed', attempted: 'basic' };

function readBasic(value: string): Credentials {
  // Some clients leave out the padding; a length of 4n+1 can never be base64.
  if (!BASE64.test(value) || value.length % 4 === 1) return MALFORMED_BASIC;
  const decoded = decodeUtf8Base64(value);
  if (decoded === null) return MALFORMED_BASIC;
  const colon = decoded.indexOf(':');
  if (colon < 0) return MALFORMED_BASIC;
  return { scheme: 'basic', login: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Base64 (already checked) to text, or null if it is not UTF-8. */
function decodeUtf8Base64(value: string): string | null {
  // atob gives one character per byte: when all are ASCII that is already the text, and costs
  // a third of a Buffer and a TextDecoder, which only other text needs.
  try {
    const bytes = atob(value);
    if (ASCII.test(bytes)) return bytes;
    return utf8.decode(Buffer.from(value, 'base64'));
  } catch {
    // atob refuses what cannot be bytes ("A="); TextDecoder refuses what is not UTF-8.
    return null;
  }
}

/** The outcome of one request's credentials; the middleware and the strategies each turn it into a response. */
export type CredentialsOutcome =
  | { kind: 'success'; user: unknown; info: PersonalTokenAuthInfo }
  /** Nothing for an enabled scheme: the request did not try. */
  | { kind: 'absent' }
  | { kind: 'malformed'; scheme: Scheme }
  | {
      kind: 'rejected';
      scheme: Scheme;
      reason: RejectReason | 'user_disabled';
      tokenId?: string;
      login?: string;
    };

/** What a check of credentials needs besides them. */
export interface CredentialsCheck {
  checker: TokenChecker;
  /** The schemes the caller accepts; credentials of another scheme are absent. */
  schemes: readonly Scheme[];
  resolveUser: ResolveUser | undefined;
  /** The client IP, recorded with the use when the service tracks IPs. */
  ip?: string | undefined;
}

/**
 * Checks credentials with the token checker, then `resolveUser`. Rejects only when the store or
 * `resolveUser` fails: refusals are outcomes. (What the middleware and the Passport strategies run.)
 */
export function authenticateCredentials(
  credentials: Credentials,
  { checker, schemes, resolveUser, ip }: CredentialsCheck,
): Promise<CredentialsOutcome> {
  const scheme = attemptedScheme(credentials, schemes);
  if (scheme === undefined || credentials.scheme === 'none') return Promise.resolve(ABSENT);
  if (credentials.scheme === 'malformed') return Promise.resolve({ kind: 'malformed', scheme });
  const login = credentials.scheme === 'basic' ? credentials.login : undefined;
  const token = credentials.scheme === 'basic' ? credentials.password : credentials.token;
  // One promise chain, not an async function: every request runs it, and each layer costs a turn.
  // Whatever goes wrong still comes out as a rejection, as it would from an async function.
  let checked: ReturnType<TokenChecker['check']>;
  try {
    checked = checker.check(token, login, ip);
  } catch (error) {
    return Promise.reject(error);
  }
  return checked.then((result) => {
    // result.login, not login: the service leaves out a claimed login that looks like a secret.
    if (!result.ok) {
      return {
        kind: 'rejected',
        scheme,
        reason: result.reason,
        tokenId: result.tokenId,
        login: result.login,
      };
    }
    const record = result.token;
    if (!resolveUser) return success(scheme, record, { login: record.user });
    const user = resolveUser(record.user);
    // A synchronous resolveUser costs no extra turn of the event loop.
    return isThenable(user)
      ? Promise.resolve(user).then((resolved) => resolvedOutcome(scheme, record, resolved))
      : resolvedOutcome(scheme, record, user);
  });
}

const ABSENT: CredentialsOutcome = { kind: 'absent' };

/** The enabled scheme that credentials try, well-formed or not; undefined if they try none (absent). */
function attemptedScheme(credentials: Credentials, schemes: readonly Scheme[]): Scheme | undefined {
  const scheme = credentials.scheme === 'malformed' ? credentials.attempted : credentials.scheme;
  return scheme !== 'none' && schemes.includes(scheme) ? scheme : undefined;
}

function resolvedOutcome(scheme: Scheme, record: StoredToken, user: unknown): CredentialsOutcome {
  if (user === null || user === undefined) {
    return { kind: 'rejected', scheme, reason: 'user_disabled', tokenId: record.id, login: record.user };
  }
  return success(scheme, record, user);
}

function success(scheme: Scheme, record: StoredToken, user: unknown): CredentialsOutcome {
  return {
    kind: 'success',
    user,
    info: {
      tokenId: record.id,
      login: record.user,
      // The request's own copy: the record may be the cache's, which the next request reads.
      scopes: [...record.scopes],
      expiresAt: new Date(record.expiresAt),
      hardExpiresAt: record.hardExpiresAt === null ? null : new Date(record.hardExpiresAt),
      autoRefresh: record.autoRefresh,
      scheme,
    },
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
