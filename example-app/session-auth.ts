import type { NextFunction, Request, Response } from 'express';
import { parseCookies, sessionCookie } from './cookies';
import type { Session, SessionStore } from './sessions';
import type { UserDirectory } from './users';

/** The session cookie's name. Not `pat_…`: nothing here should look like a personal token. */
export const SESSION_COOKIE = 'example_session';

/** The request's session, as `loadSession` found it (null if none). */
export function sessionOf(res: Response): Session | null {
  return (res.locals.session as Session | undefined) ?? null;
}

/**
 * Finds the request's session from its cookie. A signed-in session whose user the directory no longer knows
 * (disabled meanwhile) is ended: the same rule `resolveUser` applies to that user's tokens. Sets `req.user`
 * to the signed-in user, which is what `tokenRouter` reads.
 */
export function loadSession(sessions: SessionStore, users: UserDirectory) {
  return (req: Request, res: Response, next: NextFunction): void => {
    let session = sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    if (session) {
      const user = users.resolve(session.login);
      if (user) req.user = user;
      else {
        sessions.destroy(session.id);
        session = null;
      }
    }
    res.locals.session = session;
    next();
  };
}

/** Starts the session of a user who just signed in, and sets its cookie. */
export function startSession(sessions: SessionStore, req: Request, res: Response, login: string): Session {
  const previous = sessionOf(res);
  if (previous) sessions.destroy(previous.id);
  const session = sessions.create(login);
  res.locals.session = session;
  res.append(
    'Set-Cookie',
    sessionCookie(SESSION_COOKIE, session.id, {
      maxAge: Math.floor(sessions.idleTimeout / 1000),
      secure: req.secure,
    }),
  );
  return session;
}

export function endSession(sessions: SessionStore, req: Request, res: Response): void {
  const session = sessionOf(res);
  if (session) sessions.destroy(session.id);
  res.locals.session = null;
  res.append('Set-Cookie', sessionCookie(SESSION_COOKIE, '', { maxAge: 0, secure: req.secure }));
}

/** For the session-authenticated JSON API: 401 unless signed in. */
export function requireSignedIn(req: Request, res: Response, next: NextFunction): void {
  if (req.user) return void next();
  res.status(401).json({ error: { code: 'ERR_UNAUTHENTICATED', message: 'Sign in first' } });
}
