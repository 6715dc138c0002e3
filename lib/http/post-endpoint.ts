import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { StoreUnavailableError } from '../errors';
import { emit } from '../events';
import type { TokenService } from '../manage/token-service';

/** How a POST endpoint reads its body and answers what its handler does not. */
export interface PostEndpointSettings {
  /** The steps that read the body (see `formBody`, `rawBody`): their refusals are answered here. */
  body: RequestHandler[];
  /** The `Retry-After` of a 503 when the store is unavailable, in seconds. */
  retryAfter: string;
}

/** What an endpoint runs for a POST whose body was read; rejects to answer 503 or pass the error on. */
export type PostHandler = (req: Request, res: Response) => Promise<void>;

const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * Mounts a `POST` endpoint at `path` of `router`, as OAuth's (RFC 7662 introspection, RFC 7009
 * revocation) and webhooks are: `Cache-Control: no-store` on every answer (a verdict of this moment,
 * or a refusal), 405 with `Allow: POST` for any other method, 503 with `Retry-After` when the store
 * is down (failing closed), and the body reader's refusals as 413, 415 or 400, with an OAuth error
 * body that never echoes the input.
 */
export function mountPostEndpoint(
  router: Router,
  path: string,
  settings: PostEndpointSettings,
  handle: PostHandler,
): void {
  router.use(path, (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  router
    .route(path)
    .post(...settings.body, (req: Request, res: Response, next: NextFunction) => {
      handle(req, res).catch((error: unknown) => {
        // Fail closed, and with no answer a caller could keep as a verdict.
        if (error instanceof StoreUnavailableError) {
          res.status(503).set('Retry-After', settings.retryAfter).json({ error: 'temporarily_unavailable' });
        } else {
          next(error);
        }
      });
    })
    .all((_req: Request, res: Response) => {
      res.status(405).set('Allow', 'POST').json({ error: 'method_not_allowed' });
    });
  router.use(path, (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const status = bodyErrorStatus(error);
    if (status === undefined) return void next(error);
    res.status(status).json({ error: status === 413 ? 'request_too_large' : 'invalid_request' });
  });
}

/**
 * Reads an `application/x-www-form-urlencoded` form of at most `bodyLimit` bytes into `req.body`,
 * never inflated (a compressed body could grow far past the limit, and no client needs one). With
 * `formOnly`, a body of another type is 415; without, it reads as an empty form, and the handler
 * says what is missing.
 */
export function formBody(
  express: typeof import('express'),
  bodyLimit: number,
  formOnly: boolean,
): RequestHandler[] {
  const form = express.urlencoded({ extended: false, inflate: false, limit: bodyLimit, type: FORM_TYPE });
  return formOnly ? [onlyOfType(FORM_TYPE), form] : [form];
}

/** Reads a body of `type`, at most `bodyLimit` bytes, as its raw bytes (a `Buffer` in `req.body`); another type is 415. */
export function rawBody(
  express: typeof import('express'),
  bodyLimit: number,
  type: string,
): RequestHandler[] {
  return [onlyOfType(type), express.raw({ inflate: false, limit: bodyLimit, type })];
}

/** A body of another type than `type` is 415 (`req.is` is null for a request without a body). */
function onlyOfType(type: string): RequestHandler {
  return (req, res, next) => {
    if (req.is(type) === false) {
      res.status(415).json({ error: 'invalid_request' });
      return;
    }
    next();
  };
}

/** A `bodyLimit` option: a whole number of bytes, at least 1. */
export function bodyLimitOption(where: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${where}: bodyLimit must be a whole number of bytes, at least 1`);
  }
  return value;
}

/** The status for an error of a body reader that a client can cause, or undefined for any other. */
function bodyErrorStatus(error: unknown): number | undefined {
  switch ((error as { type?: unknown } | null)?.type) {
    case 'entity.too.large':
      return 413;
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return 415;
    case 'parameters.too.many':
    case 'entity.parse.failed':
    case 'entity.verify.failed':
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return 400;
    default:
      return undefined;
  }
}

/** A client over the throttle's limit: the `throttled` audit event, and a 429 with `Retry-After`. */
export function answerThrottled(res: Response, tokens: TokenService, ip: string, retryAfter: number): void {
  emit(tokens.onEvent, { type: 'throttled', time: new Date(tokens.now()), ip, retryAfter });
  res.status(429).set('Retry-After', String(retryAfter)).json({ error: 'too_many_requests' });
}
