import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { StoreUnavailableError } from '../errors';
import { emit, type OnEvent } from '../events';
import { type ResolveUser, TokenService } from '../manage/token-service';
import { checkOptions, optionNames, refuseTogether } from '../option-names';
import type { ResolveAncestors } from '../scopes';
import type { TokenStore } from '../store';
import {
  attemptedScheme,
  authenticateCredentials,
  type CredentialsCheck,
  type CredentialsOutcome,
} from './authenticate-credentials';
import { assertRealm, type BearerError, basicChallenge, bearerChallenge, DEFAULT_REALM } from './challenges';
import { clientIp } from './client-ip';
import { type Credentials, readCredentials, type Scheme } from './credentials';
import { createDefaultTokenService } from './default-token-service';
import { FailureThrottle, type ThrottleOptions, throttleSettings } from './failure-throttle';
import { setRequestContext } from './request-context';

export interface PersonalTokenAuthOptions {
  /** The token service. Without it (and without `store`), Redis at `$REDIS_URL` with prefix `pat:`. */
  tokens?: TokenService;
  /** Shorthand for `tokens: new TokenService({ store })`. */
  store?: TokenStore;
  /** The app's user for a token's login; null/undefined refuses the request (deleted or disabled user). */
  resolveUser?: ResolveUser;
  /** A node's ancestors, so that a scope on a folder covers everything below it. */
  resolveAncestors?: ResolveAncestors;
  /** Which schemes to accept. Default both: `['bearer', 'basic']`. */
  schemes?: readonly Scheme[];
  /** The realm of the challenges. Default `Users`. */
  realm?: string;
  /** Let requests that carry no credentials through untouched (a bad token is still refused). */
  optional?: boolean;
  /** Seconds in the `Retry-After` of a 503 when the store is unavailable. Default 1. */
  retryAfter?: number;
  /** Audit events `authenticated`, `rejected` (with the reason) and `throttled`. Default: the service's `onEvent`. */
  onEvent?: OnEvent;
  /** Failed-authentication throttling per client IP (`req.ip`, so `trust proxy` applies). Off by default. */
  throttle?: ThrottleOptions;
}

const OPTION_NAMES = optionNames<PersonalTokenAuthOptions>({
  tokens: true,
  store: true,
  resolveUser: true,
  resolveAncestors: true,
  schemes: true,
  realm: true,
  optional: true,
  retryAfter: true,
  onEvent: true,
  throttle: true,
});

/** How a request ends: its credentials' outcome, or the throttle's refusal before any check. */
type Outcome = CredentialsOutcome | { kind: 'throttled'; ip: string; retryAfter: number };

// Clients whose forwarded address is not one share a single throttling key.
const NO_ADDRESS = 'no-address';

export type PersonalTokenAuthMiddleware = RequestHandler & {
  /** The token service the middleware checks against (to issue, list or revoke tokens). */
  tokens: TokenService;
};

const SCHEMES: readonly Scheme[] = ['bearer', 'basic'];

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
  // Every option is checked before the service: the default one opens a Redis connection, which a
  // mistake must not leave behind to keep the process alive.
  checkOptions('personalTokenAuth', options, OPTION_NAMES);
  const schemes = options.schemes ?? SCHEMES;
  if (
    !Array.isArray(schemes) ||
    schemes.length === 0 ||
    schemes.some((scheme) => !SCHEMES.includes(scheme))
  ) {
    throw new TypeError(`schemes must be a non-empty list of ${SCHEMES.map((s) => `'${s}'`).join(', ')}`);
  }
  const realm = options.realm ?? DEFAULT_REALM;
  assertRealm(realm);
  const throttling = options.throttle ? throttleSettings('personalTokenAuth', options.throttle) : undefined;
  const tokens = serviceOf(options);
  const resolveUser = options.resolveUser ?? tokens.resolveUser;
  const optional = options.optional ?? false;
  const retryAfter = String(options.retryAfter ?? 1);
  const onEvent = options.onEvent ?? tokens.onEvent;
  const throttle = throttling ? new FailureThrottle(tokens, throttling) : undefined;
  const context = { realm, resolveAncestors: options.resolveAncestors, onEvent };
  // requireNodePermission() falls back to these very defaults when a request has no context.
  const contextNeeded =
    realm !== DEFAULT_REALM || options.resolveAncestors !== undefined || onEvent !== undefined;

  // What every check passes; only the client IP changes, and only when the service records it.
  const check: CredentialsCheck = { tokens, schemes, resolveUser };

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
    const checking = tokens.trackIp ? { ...check, ip: req.ip } : check;
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
 * The service the middleware checks against: `tokens`, or a new one on `store`, or, when the options
 * name neither, the default one on Redis. A `tokens` or `store` that is there but `undefined` is
 * refused rather than read as neither: it is a service or store that did not exist yet, and the
 * default would open a Redis connection in its place.
 */
function serviceOf(options: PersonalTokenAuthOptions): TokenService {
  refuseTogether(
    'personalTokenAuth',
    options,
    'tokens',
    'store',
    'store is short for tokens: new TokenService({ store }), so give the store to the service',
  );
  if (options.tokens !== undefined) {
    if (!(options.tokens instanceof TokenService)) {
      throw new TypeError('personalTokenAuth: tokens must be a TokenService');
    }
    return options.tokens;
  }
  if (options.store !== undefined) return new TokenService({ store: options.store });
  for (const name of ['tokens', 'store'] as const) {
    if (Object.hasOwn(options, name)) {
      throw new TypeError(
        `personalTokenAuth: ${name} is undefined; leave out both tokens and store for the default Redis service`,
      );
    }
  }
  return createDefaultTokenService();
}
