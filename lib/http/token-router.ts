import type { NextFunction, Request, Response, Router } from 'express';
import { parseDuration } from '../duration';
import {
  FamilyRevocationIncompleteError,
  PersonalTokenError,
  RevocationNotDurableError,
  RevokeAllIncompleteError,
  StoreUnavailableError,
} from '../errors';
import { expiresSoon } from '../expiring-page';
import { type CallerBounds, callerBounds, ScopeCoverage } from '../manage/caller-bounds';
import { isValidLabel, MAX_LABEL } from '../manage/issue-options';
import type { TokenInfo } from '../manage/token-info';
import type { ListPageOptions } from '../manage/token-lister';
import type { TokenService } from '../manage/token-service';
import { checkOptions, optionNames } from '../option-names';
import { quoteInput } from '../quote-input';
import { normaliseScope, type ResolveAncestors } from '../scopes';
import { MAX_PAGE_SIZE } from '../token-page';
import { getRequestContext } from './request-context';
import { tokenToJson } from './token-json';

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

/** The body of every error response. `field` names the offending input, when there is one. */
export interface TokenRouterErrorBody {
  /** `revoked`: how many tokens a revocation (`DELETE /tokens`, or of a token with descendants) revoked before the store failed (a 503). */
  error: { code: string; message: string; field?: string; revoked?: number };
}

const CREATE_FIELDS = ['label', 'expiresIn', 'autoRefresh', 'scopes'] as const;
const ROTATE_FIELDS = ['overlap'] as const;

/** A refusal with an HTTP status; everything the router answers with an error goes through one. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly revoked?: number,
  ) {
    super(message);
  }
}

/**
 * Express is loaded when a router is made, not when the package is: the CLI and apps that never mount
 * the router (they import the same entry point) do not pay for loading it, about 100 ms cold. An app
 * that mounts the router has loaded Express already, so this costs nothing there.
 */
function loadExpress(): typeof import('express') {
  return require('express');
}

const notFound = () => new HttpError(404, 'ERR_TOKEN_NOT_FOUND', 'No such token');

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
        .catch((error: unknown) => sendError(error, res, next));
    };

  function sendError(error: unknown, res: Response, next: NextFunction): void {
    const refusal = toHttpError(error);
    if (!refusal) return void next(error);
    if (refusal.status === 503) res.set('Retry-After', retryAfter);
    const body: TokenRouterErrorBody = { error: { code: refusal.code, message: refusal.message } };
    if (refusal.field !== undefined) body.error.field = refusal.field;
    if (refusal.revoked !== undefined) body.error.revoked = refusal.revoked;
    res.status(refusal.status).json(body);
  }

  /** The token with this id if the user may see it; else the same 404 as for an id that never existed. */
  async function ownToken(req: Request, login: string): Promise<TokenInfo> {
    const found = await tokens.inspect(String(req.params.id));
    if (!found || found.user !== login || !(await coveredByCaller(req, found))) throw notFound();
    return found;
  }

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
        res.json(tokenToJson(await ownToken(req, login)));
      }),
    )
    .delete(
      handle(async (req, res, login) => {
        const token = await ownToken(req, login);
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
        const old = await ownToken(req, login);
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
    sendError(bodyParserError(error) ?? error, res, next);
  });

  async function visibleTokens(req: Request, all: TokenInfo[]): Promise<TokenInfo[]> {
    const isVisible = visibility(req);
    if (!isVisible) return all;
    const visible: TokenInfo[] = [];
    for (const token of all) if (await isVisible(token)) visible.push(token);
    return visible;
  }

  return router;
}

function defaultLogin(req: Request): string | undefined {
  if (typeof req.authInfo?.login === 'string') return req.authInfo.login;
  const login = (req.user as { login?: unknown } | undefined)?.login;
  return typeof login === 'string' ? login : undefined;
}

function resolveAncestorsOf(req: Request): ResolveAncestors | undefined {
  return getRequestContext(req)?.resolveAncestors;
}

/** Whether the request came with a scoped personal token (`personalTokenAuth`). */
function callerIsNarrowed(req: Request): boolean {
  return (callerBounds(req.authInfo)?.scopes.length ?? 0) > 0;
}

/** Which tokens the request may see: undefined for all of them (it is not narrowed). */
function visibility(req: Request): ((token: TokenInfo) => Promise<boolean>) | undefined {
  return callerIsNarrowed(req) ? (token) => coveredByCaller(req, token) : undefined;
}

/**
 * Whether the request may see `target` at all: always, unless it came with a scoped token; then only
 * tokens whose every scope that token covers (the same node or one below it, no permission it lacks).
 * A narrow token that leaked must not be able to list, revoke or rotate (and so obtain) broader ones.
 */
async function coveredByCaller(req: Request, target: TokenInfo): Promise<boolean> {
  const caller = callerBounds(req.authInfo);
  if (!caller || caller.tokenId === target.id) return true;
  return coverageOf(req, caller).covers(target.scopes);
}

// One per request: a listing checks every token against the same caller.
const coverages = new WeakMap<Request, ScopeCoverage>();

function coverageOf(req: Request, caller: CallerBounds): ScopeCoverage {
  let coverage = coverages.get(req);
  if (coverage?.callerId !== caller.tokenId) {
    coverage = new ScopeCoverage(caller, resolveAncestorsOf(req));
    coverages.set(req, coverage);
  }
  return coverage;
}

/** `?limit=&cursor=` of `GET /tokens`; the service checks the values, this only their form. */
function readPageQuery(req: Request): ListPageOptions {
  const { cursor, limit } = req.query;
  if (cursor !== undefined && typeof cursor !== 'string') {
    throw new HttpError(400, 'ERR_INVALID_PAGE', 'cursor must be the next of a previous page', 'cursor');
  }
  if (limit !== undefined && (typeof limit !== 'string' || !/^\d{1,4}$/.test(limit))) {
    throw new HttpError(
      400,
      'ERR_INVALID_PAGE',
      `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`,
      'limit',
    );
  }
  return {
    cursor: cursor === undefined || cursor === '' ? null : cursor,
    limit: limit === undefined ? undefined : Number(limit),
  };
}

/**
 * State-changing requests must say `Content-Type: application/json`, even with an empty body. Besides
 * being what the router reads, that is a type a browser cannot send cross-site without a CORS
 * preflight: HTML forms and other "simple" cross-site requests never get through.
 */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return void next();
  next(
    new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the request with Content-Type: application/json'),
  );
}

function methodNotAllowed(allow: string) {
  return (req: Request, res: Response): void => {
    res.set('Allow', allow);
    if (req.method === 'OPTIONS') return void res.status(204).end();
    const body: TokenRouterErrorBody = {
      error: { code: 'ERR_METHOD_NOT_ALLOWED', message: `Allowed methods: ${allow}` },
    };
    res.status(405).json(body);
  };
}

/** The JSON body as an object with only known fields (an empty body is `{}`). */
function readBody<Field extends string>(
  req: Request,
  fields: readonly Field[],
): Partial<Record<Field, unknown>> {
  const body: unknown = req.body ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'ERR_INVALID_BODY', 'The body must be a JSON object');
  }
  for (const key of Object.keys(body)) {
    if (!(fields as readonly string[]).includes(key)) {
      // A typo such as `scope` for `scopes` must not quietly issue a token with the user's full access.
      const hint = key === 'user' ? ': tokens are always for the authenticated user' : '';
      const shown = quoteInput(key);
      // A name that could be a token (pasted as a key) is neither repeated nor named as the field.
      const field = shown === JSON.stringify(key) ? key : undefined;
      throw new HttpError(
        400,
        'ERR_UNKNOWN_FIELD',
        `Unknown field ${shown}${hint}; expected ${fields.join(', ')}`,
        field,
      );
    }
  }
  return body as Partial<Record<Field, unknown>>;
}

function validateCreate(
  body: Partial<Record<(typeof CREATE_FIELDS)[number], unknown>>,
  tokens: TokenService,
): {
  label?: string;
  expiresIn?: string | number;
  autoRefresh?: string | number;
  scopes?: string[];
} {
  const label = body.label ?? undefined;
  if (label !== undefined && !isValidLabel(label, (text) => tokens.isTokenLike(text))) {
    throw new HttpError(
      400,
      'ERR_INVALID_TOKEN_OPTIONS',
      `label must be text of at most ${MAX_LABEL} characters, without control characters or a token`,
      'label',
    );
  }
  const expiresIn = optionalDuration(body.expiresIn, 'expiresIn');
  const autoRefresh = optionalDuration(body.autoRefresh, 'autoRefresh');
  if (expiresIn === undefined && autoRefresh === undefined) {
    throw new HttpError(
      400,
      'ERR_INVALID_TOKEN_OPTIONS',
      'A token needs expiresIn (a hard limit), autoRefresh (a sliding window), or both',
      'expiresIn',
    );
  }
  const scopes = body.scopes ?? undefined;
  if (scopes !== undefined) {
    if (!Array.isArray(scopes)) {
      throw new HttpError(
        400,
        'ERR_INVALID_SCOPE',
        'scopes must be an array of node:<NODE_ID>:r|w|rw',
        'scopes',
      );
    }
    // Checked for its grammar only: whether the caller may have it (`introspect`, broader scopes) is
    // the service's decision, a 403.
    for (const scope of scopes) fieldError('scopes', () => normaliseScope(scope));
  }
  return {
    label: label === '' ? undefined : label,
    expiresIn,
    autoRefresh,
    scopes: scopes as string[] | undefined,
  };
}

function optionalDuration(value: unknown, field: string): string | number | undefined {
  if (value === undefined || value === null) return undefined;
  fieldError(field, () => parseDuration(value as string | number));
  return value as string | number;
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

function validateOverlap(value: unknown): number {
  if (value === undefined || value === null || value === 0 || value === '0') return 0;
  return fieldError('overlap', () => parseDuration(value as string | number));
}

/** Runs a library parser; its error (with its code) becomes a 400 naming the field. */
function fieldError<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof PersonalTokenError) throw new HttpError(400, error.code, error.message, field);
    throw error;
  }
}

/** The library's errors as HTTP answers; anything else (a bug, the app's own errors) goes to `next`. */
function toHttpError(error: unknown): HttpError | null {
  if (error instanceof HttpError) return error;
  if (error instanceof RevokeAllIncompleteError) {
    const message = `Revoked ${error.revoked} tokens, then the token store became unavailable; try again to revoke the rest`;
    return new HttpError(503, error.code, message, undefined, error.revoked);
  }
  if (error instanceof FamilyRevocationIncompleteError) {
    const message = `Revoked ${error.revoked} tokens of the token's family, then the token store became unavailable; the others may still be live until it is revoked again`;
    return new HttpError(503, error.code, message, undefined, error.revoked);
  }
  if (error instanceof RevocationNotDurableError) {
    const message =
      'The token is revoked, but the token store could not confirm it on its replicas in time: it may come back after a failover; revoke it again';
    return new HttpError(503, error.code, message);
  }
  if (error instanceof StoreUnavailableError) {
    return new HttpError(503, error.code, 'The token store is unavailable; try again shortly');
  }
  if (!(error instanceof PersonalTokenError)) return null;
  switch (error.code) {
    case 'ERR_SCOPE_BROADER_THAN_CALLER':
    case 'ERR_SCOPE_NOT_ALLOWED':
      return new HttpError(403, error.code, error.message, 'scopes');
    case 'ERR_EXPIRY_LATER_THAN_CALLER':
      return new HttpError(403, error.code, error.message, 'expiresIn');
    case 'ERR_WINDOW_LONGER_THAN_CALLER':
      return new HttpError(403, error.code, error.message, 'autoRefresh');
    case 'ERR_TOO_MANY_SCOPES':
      return new HttpError(400, error.code, error.message, 'scopes');
    case 'ERR_EXPIRY_TOO_LONG':
      return new HttpError(400, error.code, error.message, 'expiresIn');
    case 'ERR_WINDOW_TOO_LONG':
      return new HttpError(400, error.code, error.message, 'autoRefresh');
    case 'ERR_CALLER_UNKNOWN':
    case 'ERR_UNKNOWN_USER':
    case 'ERR_FAMILY_TOO_DEEP':
      return new HttpError(403, error.code, error.message);
    // The token that made the request was revoked (or expired) while it ran: as if it had been before.
    case 'ERR_CALLER_NOT_LIVE':
      return new HttpError(401, error.code, error.message);
    case 'ERR_TOKEN_LIMIT':
      return new HttpError(409, error.code, error.message);
    default:
      return new HttpError(400, error.code, error.message);
  }
}

/** body-parser's errors carry a `type`; map the ones a client can cause to stable codes. */
function bodyParserError(error: unknown): HttpError | null {
  const type = (error as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.parse.failed':
      return new HttpError(400, 'ERR_INVALID_JSON', 'The body is not valid JSON');
    case 'entity.too.large':
      return new HttpError(413, 'ERR_BODY_TOO_LARGE', 'The body is too large');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'Send UTF-8 JSON, without content encoding');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new HttpError(400, 'ERR_INVALID_BODY', 'The body could not be read');
    default:
      return null;
  }
}
