import type { NextFunction, Request, Response, Router } from 'express';
import { StoreUnavailableError } from '../errors';
import { expiresSoon } from '../expiring-page';
import type { TokenInfo } from '../manage/token-info';
import type { TokenService } from '../manage/token-service';
import { checkOptions, optionNames } from '../option-names';
import { tokenToJson } from './token-json';
import {
  callerIsNarrowed,
  defaultLogin,
  ownToken,
  resolveAncestorsOf,
  visibility,
  visibleTokens,
} from './token-router-caller';
import { bodyParserError, HttpError, methodNotAllowed, notFound, sendError } from './token-router-errors';
import {
  CREATE_FIELDS,
  ROTATE_FIELDS,
  readBody,
  readPageQuery,
  requireJson,
  validateCreate,
  validateOverlap,
} from './token-router-input';

export type { TokenRouterErrorBody } from './token-router-errors';

/**
 * Self-service token management over HTTP, for the authenticated user only:
 *
 *   POST   /tokens              create (the response is the only time the token text is sent)
 *   GET    /tokens              list, newest first, a page at a time (`?limit=&cursor=`); a token
 *                                whose hard limit is within 7 days has `expiresSoon: true`
 *   GET    /tokens/:id          one token
 *   POST   /tokens/:id/rotate   replace it (optionally keeping the old one for an overlap)
 *   DELETE /tokens/:id          revoke it
 *   DELETE /tokens              revoke all
 *
 * Mount it behind the app's own authentication (a session, OAuth, or `personalTokenAuth`). It does
 * no authentication itself: the login comes from `getLogin(req)`.
 */
export interface TokenRouterOptions {
  /** The service that issues, lists and revokes the tokens. */
  tokens: TokenService;
  /**
   * The login of the request's authenticated user, or null/undefined if there is none (then 401).
   * Default: `req.authInfo.login` (a personal token), else `req.user.login` (a session, OAuth...).
   */
  getLogin?: (req: Request) => string | null | undefined | Promise<string | null | undefined>;
  /** Seconds in the `Retry-After` of a 503 when the store is unavailable. Default 1. */
  retryAfter?: number;
  /** Largest JSON body accepted, in bytes. Default 16 KiB: a token request is a few hundred bytes. */
  bodyLimit?: number;
}

const OPTION_NAMES = optionNames<TokenRouterOptions>({
  tokens: true,
  getLogin: true,
  retryAfter: true,
  bodyLimit: true,
});

/**
 * Express is loaded when a router is made, not when the package is: the CLI and apps that never mount
 * the router (they import the same entry point) do not pay for loading it, about 100 ms cold. An app
 * that mounts the router has loaded Express already, so this costs nothing there.
 */
function loadExpress(): typeof import('express') {
  return require('express');
}

/** Express router for users to manage their own personal tokens. See `TokenRouterOptions`. */
export function tokenRouter(options: TokenRouterOptions): Router {
  checkOptions('tokenRouter', options, OPTION_NAMES);
  const { tokens } = options;
  if (!tokens || typeof tokens.issueFor !== 'function') throw new TypeError('tokenRouter needs { tokens }');
  const getLogin = options.getLogin ?? defaultLogin;
  const retryAfter = String(options.retryAfter ?? 1);
  const express = loadExpress();
  const json = express.json({
    limit: options.bodyLimit ?? 16 * 1024,
    strict: true,
    type: 'application/json',
  });
  const router = express.Router();

  type Handler = (req: Request, res: Response, login: string) => Promise<void>;
  const handle =
    (handler: Handler) =>
    (req: Request, res: Response, next: NextFunction): void => {
      Promise.resolve()
        .then(() => getLogin(req))
        .then((login) => {
          if (typeof login !== 'string' || login.length === 0) {
            throw new HttpError(401, 'ERR_UNAUTHENTICATED', 'Sign in first');
          }
          return handler(req, res, login);
        })
        .catch((error: unknown) => sendError(error, res, next, retryAfter));
    };

  // Tokens and their metadata are nobody's business but the user's: no cache keeps any of it.
  router.use('/tokens', (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  router
    .route('/tokens')
    .get(
      handle(async (req, res, login) => {
        // One page per request, however many tokens there are. A narrowed caller's page holds only
        // tokens it may see, and its cursor names no other (see `ListPageOptions.visible`).
        const page = await tokens.listPage(login, { ...readPageQuery(req), visible: visibility(req) });
        const now = tokens.now();
        res.json({
          now: new Date(now).toISOString(),
          // `expiresSoon: true` marks a hard limit within a week, for the page to show.
          tokens: page.tokens.map((token) =>
            expiresSoon(token, now) ? { ...tokenToJson(token), expiresSoon: true } : tokenToJson(token),
          ),
          next: page.cursor,
        });
      }),
    )
    .post(
      requireJson,
      json,
      handle(async (req, res, login) => {
        const body = readBody(req, CREATE_FIELDS);
        const issued = await tokens.issueFor(req.authInfo ?? login, {
          ...validateCreate(body, tokens),
          user: login,
          resolveAncestors: resolveAncestorsOf(req),
        });
        res
          .status(201)
          .location(`${req.baseUrl}/tokens/${issued.id}`)
          .json({ token: issued.token, ...tokenToJson(issued) });
      }),
    )
    .delete(
      handle(async (req, res, login) => {
        if (callerIsNarrowed(req)) {
          // A narrowed token only reaches tokens at most as narrow as itself, so it revokes only those
          // (and their descendants, narrower still).
          let revoked = 0;
          const all = await tokens.list(login);
          for (const token of await visibleTokens(req, all)) revoked += await tokens.revokeFamily(token.id);
          return void res.json({ revoked });
        }
        res.json({ revoked: await tokens.revokeAll(login) });
      }),
    )
    .all(methodNotAllowed('GET, HEAD, POST, DELETE'));

  router
    .route('/tokens/:id')
    .get(
      handle(async (req, res, login) => {
        res.json(tokenToJson(await ownToken(tokens, req, login)));
      }),
    )
    .delete(
      handle(async (req, res, login) => {
        const token = await ownToken(tokens, req, login);
        if (!(await tokens.revoke(token.id))) throw notFound(); // revoked or expired meanwhile
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed('GET, HEAD, DELETE'));

  router
    .route('/tokens/:id/rotate')
    .post(
      requireJson,
      json,
      handle(async (req, res, login) => {
        const body = readBody(req, ROTATE_FIELDS);
        const overlap = validateOverlap(body.overlap);
        const old = await ownToken(tokens, req, login);
        // The replacement has the old token's terms: a token may rotate only what it could have made.
        const fresh = await tokens.rotate(old.id, {
          overlap,
          // Never undefined (the app itself): a user with a session is a caller too.
          caller: req.authInfo ?? login,
          resolveAncestors: resolveAncestorsOf(req),
        });
        if (!fresh) throw notFound();
        const previousExpiresAt = overlap === 0 ? tokens.now() : await overlapEnd(tokens, old, overlap);
        res
          .status(201)
          .location(`${req.baseUrl}/tokens/${fresh.id}`)
          .json({
            token: fresh.token,
            ...tokenToJson(fresh),
            previous: { id: old.id, expiresAt: new Date(previousExpiresAt).toISOString() },
          });
      }),
    )
    .all(methodNotAllowed('POST'));

  // Errors of the JSON parser (bad JSON, too large, bad charset): JSON answers, never the input echoed.
  router.use('/tokens', (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    sendError(bodyParserError(error) ?? error, res, next, retryAfter);
  });

  return router;
}

/**
 * When the old token of a rotation with an overlap stops: as the store has it now or, should the
 * store fail after the rotation (whose new token must still reach the caller), the overlap's end.
 */
async function overlapEnd(tokens: TokenService, old: TokenInfo, overlap: number): Promise<number> {
  try {
    return (await tokens.inspect(old.id))?.expiresAt.getTime() ?? tokens.now();
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    return Math.min(old.expiresAt.getTime(), tokens.now() + overlap);
  }
}
