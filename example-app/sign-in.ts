import express, { type Request, type Response, type Router } from 'express';
import { CSRF_FIELD, csrfTokenMatches } from './csrf';
import { escapeHtml, sendPage } from './html';
import { sentByAnotherSite } from './sent-by-another-site';
import { endSession, sessionOf, startSession } from './session-auth';
import type { SessionStore } from './sessions';
import type { SignInCsrf } from './sign-in-csrf';
import { DEMO_PASSWORD, DEMO_USERS, type UserDirectory } from './users';

export const SIGN_IN_PATH = '/signin';
export const SIGN_OUT_PATH = '/signout';
/** Where a successful sign-in lands. */
export const AFTER_SIGN_IN_PATH = '/settings/tokens';

function demoUsersNote(): string {
  const active = DEMO_USERS.filter((user) => !user.disabled).map(
    (user) => `<code>${escapeHtml(user.login)}</code>`,
  );
  const disabled = DEMO_USERS.filter((user) => user.disabled).map(
    (user) => `<code>${escapeHtml(user.login)}</code>`,
  );
  return `<p class="hint">Demo users: ${active.join(', ')}, each with the password <code>${escapeHtml(DEMO_PASSWORD)}</code>.${
    disabled.length > 0 ? ` ${disabled.join(', ')} is disabled: her sign-in is refused, like her tokens.` : ''
  }</p>`;
}

function sendSignInPage(
  res: Response,
  status: number,
  csrfToken: string,
  message?: string,
  login = '',
): void {
  sendPage(res, status, {
    title: 'Sign in',
    body: `<main class="narrow">
<h1>Sign in</h1>
<p class="lead">Sign in to manage your personal access tokens.</p>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="${SIGN_IN_PATH}" class="card stack">
<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(csrfToken)}">
<label>Login <input id="login" name="login" autocomplete="username" required value="${escapeHtml(login)}" autofocus></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label>
<button type="submit" class="primary">Sign in</button>
</form>
${demoUsersNote()}
</main>`,
  });
}

export interface SignInRoutesOptions {
  sessions: SessionStore;
  users: UserDirectory;
  /** The sign-in form's CSRF token, which takes no session: loading the form costs the server nothing. */
  signInCsrf: SignInCsrf;
}

/** The sign-in form (against the demo user directory), and sign-out. */
export function signInRoutes({ sessions, users, signInCsrf }: SignInRoutesOptions): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '4kb' });

  router.get(SIGN_IN_PATH, (req: Request, res: Response) => {
    if (req.user) return void res.redirect(303, AFTER_SIGN_IN_PATH);
    // The form carries a CSRF token: a sign-in posted from another site is refused, so nobody can sign a
    // visitor in to an account of theirs (login CSRF).
    sendSignInPage(res, 200, signInCsrf.issue(req, res));
  });

  router.post(SIGN_IN_PATH, form, (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const login = typeof body.login === 'string' ? body.login.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    // Over HTTP a sibling subdomain can plant the sign-in cookie, with a nonce whose form token it fetched
    // for itself: its Origin gives it away (login CSRF).
    if (sentByAnotherSite(req) || !signInCsrf.verify(req, body[CSRF_FIELD])) {
      return void sendSignInPage(
        res,
        403,
        signInCsrf.issue(req, res),
        'The sign-in form had expired. Please try again.',
        login,
      );
    }
    const user = users.signIn(login, password);
    if (!user) {
      return void sendSignInPage(
        res,
        401,
        signInCsrf.issue(req, res),
        'Wrong login or password, or a disabled account.',
        login,
      );
    }
    // A new session id at sign-in: an id planted before it (session fixation) is worth nothing.
    startSession(sessions, req, res, user.login);
    signInCsrf.clear(req, res);
    res.redirect(303, AFTER_SIGN_IN_PATH);
  });

  router.post(SIGN_OUT_PATH, form, (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!csrfTokenMatches(sessionOf(res), body[CSRF_FIELD])) {
      return void res.status(403).type('text/plain').send('Missing or wrong CSRF token: reload the page.\n');
    }
    endSession(sessions, req, res);
    res.redirect(303, SIGN_IN_PATH);
  });

  return router;
}
