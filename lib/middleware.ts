import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type CredentialsOutcome, checkCredentials, type Scheme } from './authenticate-credentials';
import { assertRealm, type BearerError, basicChallenge, bearerChallenge } from './challenges';
import { readCredentials } from './credentials';
import { createDefaultTokenService } from './default-token-service';
import { StoreUnavailableError } from './errors';
import { emit, type OnEvent } from './events';
import { FailureThrottle, type ThrottleOptions } from './failure-throttle';
import { type ResolveAncestors, setRequestContext } from './request-context';
import type { TokenStore } from './store';
import { type ResolveUser, TokenService } from './token-service';

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

function clientIp(req: Request): string {
  return req.ip ?? req.socket?.remoteAddress ?? 'unknown';
}

export type PersonalTokenAuthMiddleware = RequestHandler & {
  /** The token service the middleware checks against (to issue, list or revoke tokens). */
  tokens: TokenService;
};

const SCHEMES: readonly Scheme[] = ['bearer', 'basic'];
const DEFAULT_REALM = 'Users';

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
  const tokens =
    options.tokens ??
    (options.store ? new TokenService({ store: options.store }) : createDefaultTokenService());
  if (!(tokens instanceof TokenService)) throw new TypeError('tokens must be a TokenService');
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
  const resolveUser = options.resolveUser ?? tokens.resolveUser;
  const optional = options.optional ?? false;
  const retryAfter = String(options.retryAfter ?? 1);
  const onEvent = options.onEvent ?? tokens.onEvent;
  const throttle = options.throttle ? new FailureThrottle(tokens, options.throttle) : undefined;
  const context = { realm, resolveAncestors: options.resolveAncestors, onEvent };
  // requireNodePermission() falls back to these very defaults when a request has no context.
  const contextNeeded =
    realm !== DEFAULT_REALM || options.resolveAncestors !== undefined || onEvent !== undefined;

  function challenges(bearerError?: BearerError): string[] {
    return schemes.map((scheme) =>
      scheme === 'bearer' ? bearerChallenge(realm, bearerError) : basicChallenge(realm),
    );
  }

  function refuse(res: Response, status: 400 | 401, error: string, bearerError?: BearerError): void {
    res.status(status).set('WWW-Authenticate', challenges(bearerError)).json({ error });
  }

  function unavailable(res: Response): void {
    res.status(503).set('Retry-After', retryAfter).json({ error: 'temporarily_unavailable' });
  }

  async function refuseAndCount(req: Request, respond: () => void): Promise<void> {
    // Count before answering, so the client's next request already sees the block.
    if (throttle) await throttle.fail(clientIp(req)).catch(() => {});
    respond();
  }

  // Events are built only when someone listens: the success path runs on every request.
  function reportRejection(
    req: Request,
    outcome: Extract<CredentialsOutcome, { kind: 'malformed' | 'rejected' }>,
  ) {
    if (!onEvent) return;
    emit(onEvent, {
      type: 'rejected',
      time: new Date(tokens.now()),
      reason: outcome.kind === 'malformed' ? 'malformed' : outcome.reason,
      tokenId: outcome.kind === 'rejected' ? outcome.tokenId : undefined,
      login: outcome.kind === 'rejected' ? outcome.login : undefined,
      ip: req.ip,
      scheme: outcome.scheme,
    });
  }

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (throttle) {
      const wait = throttle.retryAfter(clientIp(req));
      if (wait > 0) {
        if (onEvent)
          emit(onEvent, {
            type: 'throttled',
            time: new Date(tokens.now()),
            ip: clientIp(req),
            retryAfter: wait,
          });
        res.status(429).set('Retry-After', String(wait)).json({ error: 'too_many_requests' });
        return;
      }
    }
    const credentials = readCredentials(req.headers.authorization);
    // `req.ip` runs Express' trust-proxy logic: only worth it when the IP is recorded.
    const ip = tokens.trackIp ? req.ip : undefined;
    checkCredentials(
      credentials,
      tokens,
      schemes,
      resolveUser,
      ip,
      (outcome) => {
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
                ip: req.ip,
                scheme: outcome.info.scheme,
              });
            }
            return next();
          case 'absent':
            if (optional) return next();
            return refuse(res, 401, 'unauthorized');
          case 'malformed':
            reportRejection(req, outcome);
            return refuseAndCount(req, () => refuse(res, 400, 'invalid_request', 'invalid_request'));
          case 'rejected':
            reportRejection(req, outcome);
            return refuseAndCount(req, () => refuse(res, 401, 'invalid_token', 'invalid_token'));
        }
      },
      (error: unknown) => {
        // Fail closed: a store that cannot answer never lets a request through.
        if (error instanceof StoreUnavailableError) return unavailable(res);
        next(error);
      },
    );
  };
  return Object.assign(middleware, { tokens });
}
