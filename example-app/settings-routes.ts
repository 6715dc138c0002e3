import { join } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { type TokenService, tokenRouter } from 'personal-token-auth';
import { requireCsrfToken } from './csrf';
import { sendPage } from './html';
import type { NodeTree } from './node-tree';
import { loadSession, requireSignedIn, sessionOf } from './session-auth';
import type { SessionStore } from './sessions';
import { SETTINGS_API_PATH, SETTINGS_TOKENS_PATH, settingsPage } from './settings-page';
import { SIGN_IN_PATH, SIGN_OUT_PATH, signInRoutes } from './sign-in';
import { SignInCsrf } from './sign-in-csrf';
import type { DemoUser, UserDirectory } from './users';

export interface SettingsRoutesOptions {
  tokens: TokenService;
  users: UserDirectory;
  nodes: NodeTree;
  sessions: SessionStore;
}

/**
 * The browser side of the example app: sign-in with a session cookie, the /settings/tokens page, and the
 * JSON API its script calls (`tokenRouter` behind the session and a CSRF check). Sessions only ever
 * authenticate these paths: /api and /dav take personal tokens and nothing else.
 */
export function settingsRoutes({ tokens, users, nodes, sessions }: SettingsRoutesOptions): Router {
  const router = express.Router();
  router.use('/assets', express.static(join(__dirname, 'public'), { index: false }));
  router.use([SIGN_IN_PATH, SIGN_OUT_PATH, '/settings'], loadSession(sessions, users));
  router.use(signInRoutes({ sessions, users, signInCsrf: new SignInCsrf({ now: () => tokens.now() }) }));

  router.get('/settings', (_req, res) => res.redirect(303, SETTINGS_TOKENS_PATH));
  router.get(SETTINGS_TOKENS_PATH, (req: Request, res: Response) => {
    if (!req.user) return void res.redirect(303, SIGN_IN_PATH);
    const page = settingsPage({ user: req.user as DemoUser, csrfToken: sessionOf(res)!.csrfToken, nodes });
    sendPage(res, 200, { title: 'Personal access tokens', ...page });
  });

  router.use(SETTINGS_API_PATH, requireSignedIn, requireCsrfToken, tokenRouter({ tokens }));
  return router;
}
