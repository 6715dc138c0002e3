import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { sessionOf } from './session-auth';
import type { Session } from './sessions';

/** The header the settings page's script sends the session's CSRF token in. */
export const CSRF_HEADER = 'X-CSRF-Token';
/** The field HTML forms (sign-in, sign-out) send it in. */
export const CSRF_FIELD = '_csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a presented CSRF token is the session's, compared in constant time. */
export function csrfTokenMatches(session: Session | null, presented: unknown): boolean {
  if (!session || typeof presented !== 'string') return false;
  const expected = Buffer.from(session.csrfToken);
  const actual = Buffer.from(presented);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * The synchronizer-token check: a state-changing request must carry the session's CSRF token (header or
 * form field). Another site can make the browser send the cookie, but cannot read the page to learn the token.
 */
export function requireCsrfToken(req: Request, res: Response, next: NextFunction): void {
  if (SAFE_METHODS.has(req.method)) return void next();
  const presented = req.get(CSRF_HEADER) ?? (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
  if (csrfTokenMatches(sessionOf(res), presented)) return void next();
  res.status(403).json({
    error: { code: 'ERR_CSRF_TOKEN', message: 'Missing or wrong CSRF token: reload the page and try again' },
  });
}
