import { writeFile } from 'node:fs/promises';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import {
  hasNodePermission,
  personalTokenAuth,
  requireNodePermission,
  type TokenService,
  tokenRouter,
} from 'personal-token-auth';
import { createDavHandler } from './dav';
import { refuseBrowserWrites } from './dav-browser-guard';
import { InvalidNodePathError, type NodeTree } from './node-tree';
import { SessionStore } from './sessions';
import { settingsRoutes } from './settings-routes';
import { setUserContentHeaders } from './user-content-headers';
import { UserDirectory } from './users';

export const DAV_MOUNT_PATH = '/dav';
const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;

export interface ExampleAppOptions {
  /** Issues and verifies the tokens (in memory or in Redis: the app does not care). */
  tokens: TokenService;
  /** The files and their node UUIDs. */
  nodes: NodeTree;
  users?: UserDirectory;
  /** Browser sessions of the settings page. Default: in memory, on the token service's clock. */
  sessions?: SessionStore;
}

function uuidParam(req: Request): string {
  return String(req.params.uuid);
}

/**
 * The example app: a REST API and a WebDAV share over the same node tree, both behind personal tokens.
 * Scopes name node UUIDs; `resolveAncestors` lets a token scoped to a folder reach everything below it.
 */
export function createApp({
  tokens,
  nodes,
  users = new UserDirectory(),
  sessions = new SessionStore({ now: () => tokens.now() }),
}: ExampleAppOptions): Express {
  const resolveUser = (login: string) => users.resolve(login);
  const resolveAncestors = (uuid: string) => nodes.ancestorsOf(uuid);
  const app = express();
  app.disable('x-powered-by');

  const api = express.Router();
  api.use(personalTokenAuth({ tokens, resolveUser, resolveAncestors }));

  api.get('/me', (req, res) => {
    const { login, tokenId, scopes, expiresAt } = req.authInfo!;
    res.json({ login, tokenId, scopes, expiresAt });
  });

  api.get('/nodes', async (req, res) => {
    if (typeof req.query.path !== 'string') return void res.status(400).json({ error: 'path_required' });
    const node = nodes.nearestNode(req.query.path);
    // Checked on the nearest existing node, so a token learns nothing about paths outside its scopes.
    if (!(await hasNodePermission(req, node.uuid, 'r'))) {
      return void res.status(403).json({ error: 'insufficient_scope' });
    }
    const found = nodes.nodeAt(req.query.path);
    if (!found) return void res.status(404).json({ error: 'not_found' });
    res.json(found);
  });

  api.get('/nodes/:uuid', requireNodePermission(uuidParam, 'r', { resolveAncestors }), (req, res) => {
    const node = nodes.nodeById(uuidParam(req));
    if (!node) return void res.status(404).json({ error: 'not_found' });
    if (node.type === 'folder') return void res.json({ ...node, children: nodes.children(node) });
    setUserContentHeaders(res, node.path);
    res.sendFile(nodes.realPath(node.path), { dotfiles: 'allow' });
  });

  api.put(
    '/nodes/:uuid',
    requireNodePermission(uuidParam, 'w', { resolveAncestors }),
    express.raw({ type: () => true, limit: MAX_UPLOAD_BYTES }),
    async (req, res) => {
      const node = nodes.nodeById(uuidParam(req));
      if (!node) return void res.status(404).json({ error: 'not_found' });
      if (node.type !== 'file') return void res.status(409).json({ error: 'not_a_file' });
      // Rewritten in place, at the same path: the node keeps its UUID.
      await writeFile(nodes.realPath(node.path), Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
      res.json(nodes.nodeById(node.uuid));
    },
  );

  // Scripts manage their user's tokens with a token: GET/POST/DELETE /api/tokens (a scoped token only
  // reaches tokens at most as narrow as itself).
  api.use(tokenRouter({ tokens }));

  api.use((error: unknown, _req: Request, res: Response, next: (error: unknown) => void) => {
    if (error instanceof InvalidNodePathError) return void res.status(400).json({ error: 'invalid_path' });
    next(error);
  });
  app.use('/api', api);

  // Sign-in, /settings/tokens and the JSON API behind it (session cookie + CSRF token).
  app.use(settingsRoutes({ tokens, users, nodes, sessions }));

  // WebDAV clients only speak Basic: login as user name, token as password. Browsers remember Basic
  // credentials too, so their writes from other sites are refused first.
  app.use(DAV_MOUNT_PATH, refuseBrowserWrites);
  app.use(
    DAV_MOUNT_PATH,
    personalTokenAuth({
      tokens,
      resolveUser,
      resolveAncestors,
      schemes: ['basic'],
      realm: 'personal-token-auth example (WebDAV)',
    }),
  );
  app.use(createDavHandler({ nodes, mountPath: DAV_MOUNT_PATH, now: () => tokens.now() }));

  app.get('/', (_req, res) => {
    res
      .type('text/plain')
      .send(
        'personal-token-auth example app: REST under /api, WebDAV under /dav/, manage tokens at /settings/tokens\n',
      );
  });

  app.use((_req, res) => void res.status(404).json({ error: 'not_found' }));

  // Last: whatever went wrong, the client gets a status and a short code, never a stack or a file path.
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error); // Express then closes the connection
    const status = (error as { status?: unknown }).status;
    // Errors of Express and body-parser that describe the request (400 for a bad escape, 413 for a big body).
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return void res.status(status).json({ error: 'bad_request' });
    }
    console.error('request failed:', error);
    res.status(500).json({ error: 'internal_error' });
  });
  return app;
}
