import type { NextFunction, Request, Response } from 'express';
import {
  FamilyRevocationIncompleteError,
  PersonalTokenError,
  RevocationNotDurableError,
  RevokeAllIncompleteError,
  StoreUnavailableError,
} from '../errors';

/** The body of every error response. `field` names the offending input, when there is one. */
export interface TokenRouterErrorBody {
  /** `revoked`: how many tokens a revocation (`DELETE /tokens`, or of a token with descendants) revoked before the store failed (a 503). */
  error: { code: string; message: string; field?: string; revoked?: number };
}

/** A refusal with an HTTP status; everything the router answers with an error goes through one. */
export class HttpError extends Error {
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

export const notFound = () => new HttpError(404, 'ERR_TOKEN_NOT_FOUND', 'No such token');

/**
 * Answers `error` as JSON if it is a refusal or one of the library's errors; anything else goes to
 * `next`. `retryAfter` is the `Retry-After` of a 503, in seconds.
 */
export function sendError(error: unknown, res: Response, next: NextFunction, retryAfter: string): void {
  const refusal = toHttpError(error);
  if (!refusal) return void next(error);
  if (refusal.status === 503) res.set('Retry-After', retryAfter);
  const body: TokenRouterErrorBody = { error: { code: refusal.code, message: refusal.message } };
  if (refusal.field !== undefined) body.error.field = refusal.field;
  if (refusal.revoked !== undefined) body.error.revoked = refusal.revoked;
  res.status(refusal.status).json(body);
}

export function methodNotAllowed(allow: string) {
  return (req: Request, res: Response): void => {
    res.set('Allow', allow);
    if (req.method === 'OPTIONS') return void res.status(204).end();
    const body: TokenRouterErrorBody = {
      error: { code: 'ERR_METHOD_NOT_ALLOWED', message: `Allowed methods: ${allow}` },
    };
    res.status(405).json(body);
  };
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
export function bodyParserError(error: unknown): HttpError | null {
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
