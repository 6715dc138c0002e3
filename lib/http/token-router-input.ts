import type { NextFunction, Request, Response } from 'express';
import { parseDuration } from '../duration';
import { PersonalTokenError } from '../errors';
import { isValidLabel, MAX_LABEL } from '../manage/issue-options';
import type { ListPageOptions } from '../manage/token-lister';
import type { TokenService } from '../manage/token-service';
import { quoteInput } from '../quote-input';
import { normaliseScope } from '../scopes';
import { MAX_PAGE_SIZE } from '../token-page';
import { HttpError } from './token-router-errors';

export const CREATE_FIELDS = ['label', 'expiresIn', 'autoRefresh', 'scopes'] as const;
export const ROTATE_FIELDS = ['overlap'] as const;

/** `?limit=&cursor=` of `GET /tokens`; the service checks the values, this only their form. */
export function readPageQuery(req: Request): ListPageOptions {
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
export function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return void next();
  next(
    new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'Send the request with Content-Type: application/json'),
  );
}

/** The JSON body as an object with only known fields (an empty body is `{}`). */
export function readBody<Field extends string>(
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

export function validateCreate(
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

export function validateOverlap(value: unknown): number {
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
