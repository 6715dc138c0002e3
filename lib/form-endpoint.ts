import type { NextFunction, Request, Response, Router } from 'express';
import { StoreUnavailableError } from './errors';

/** How a form endpoint reads its body and answers what its handler does not. */
export interface FormEndpointSettings {
  /** Largest form body accepted, in bytes (413 past it). */
  bodyLimit: number;
  /**
   * Whether a body that is no `application/x-www-form-urlencoded` form is refused with 415. Without
   * it, such a body reads as an empty form, and the handler says what is missing.
   */
  formOnly: boolean;
  /** The `Retry-After` of a 503 when the store is unavailable, in seconds. */
  retryAfter: string;
}

/** What a form endpoint runs for a POST whose form was read; rejects to answer 503 or pass the error on. */
export type FormHandler = (req: Request, res: Response) => Promise<void>;

const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * Mounts a `POST` endpoint taking a form, as OAuth's (RFC 7662 introspection, RFC 7009 revocation)
 * are, at `path` of `router`: `Cache-Control: no-store` on every answer (a verdict of this moment,
 * or a refusal), the form read within `bodyLimit` and never inflated (a compressed body could grow
 * far past the limit), 405 with `Allow: POST` for any other method, 503 with `Retry-After` when the
 * store is down (failing closed), and the form parser's refusals as 413, 415 or 400, with an OAuth
 * error body that never echoes the input.
 */
export function mountFormEndpoint(
  express: typeof import('express'),
  router: Router,
  path: string,
  settings: FormEndpointSettings,
  handle: FormHandler,
): void {
  const form = express.urlencoded({
    extended: false,
    inflate: false,
    limit: settings.bodyLimit,
    type: FORM_TYPE,
  });
  router.use(path, (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  const steps = [
    ...(settings.formOnly ? [refuseOtherTypes] : []),
    form,
    (req: Request, res: Response, next: NextFunction) => {
      handle(req, res).catch((error: unknown) => {
        // Fail closed, and with no answer a caller could keep as a verdict.
        if (error instanceof StoreUnavailableError) {
          res.status(503).set('Retry-After', settings.retryAfter).json({ error: 'temporarily_unavailable' });
        } else {
          next(error);
        }
      });
    },
  ];
  router
    .route(path)
    .post(...steps)
    .all((_req: Request, res: Response) => {
      res.status(405).set('Allow', 'POST').json({ error: 'method_not_allowed' });
    });
  router.use(path, (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const status = formErrorStatus(error);
    if (status === undefined) return void next(error);
    res.status(status).json({ error: status === 413 ? 'request_too_large' : 'invalid_request' });
  });
}

/** A body of another type than a form is 415 (`req.is` is null for a request without a body). */
function refuseOtherTypes(req: Request, res: Response, next: NextFunction): void {
  if (req.is(FORM_TYPE) === false) {
    res.status(415).json({ error: 'invalid_request' });
    return;
  }
  next();
}

/** A `bodyLimit` option: a whole number of bytes, at least 1. */
export function bodyLimitOption(where: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${where}: bodyLimit must be a whole number of bytes, at least 1`);
  }
  return value;
}

/** The status for an error of the form parser that a client can cause, or undefined for any other. */
function formErrorStatus(error: unknown): number | undefined {
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
