import type { Request, RequestHandler, Response } from 'express';
import { hasNodePermission } from 'personal-token-auth';
import { v2 as webdav } from 'webdav-server';
import { davAccessChecks, davDestinationPath, destructiveDavRequest } from './dav-access';
import { NodeTrackingFileSystem } from './dav-file-system';
import { lockRefusal } from './dav-lock-checks';
import { useLockCommands } from './dav-lock-commands';
import { DavLockTable } from './dav-locks';
import { davUrlPath } from './dav-paths';
import { preconditionRefusal } from './dav-precondition-checks';
import { usePropertyUpdates } from './dav-property-update';
import { usePropfind } from './dav-propfind';
import { writeDavRefusal } from './dav-refusal';
import { canonicalDavRequest } from './dav-request-checks';
import { applyDavServerWorkarounds } from './dav-server-workarounds';
import { InvalidNodePathError, isSameOrBelow, type NodeTree } from './node-tree';
import { SerialByKey } from './serial-by-key';
import { setUserContentHeaders } from './user-content-headers';

// webdav-server's callbacks are typed `(error: Error, ...)` although they mean "error or nothing".
const NO_ERROR = null as unknown as Error;

/**
 * Makes webdav-server trust the user that Express' `personalTokenAuth` middleware already authenticated
 * (it runs first, on the same request object) instead of checking a password against its own user manager.
 */
class ExpressAuthenticatedUser implements webdav.HTTPAuthentication {
  askForAuthentication(): Record<string, string> {
    return {}; // the 401 and its WWW-Authenticate come from personalTokenAuth, before webdav-server runs
  }

  getUser(ctx: webdav.HTTPRequestContext, callback: (error: Error, user?: webdav.IUser) => void): void {
    const login = (ctx.request as Request).authInfo?.login;
    if (typeof login !== 'string') callback(webdav.Errors.MissingAuthorisationHeader);
    else callback(NO_ERROR, { uid: login, username: login, isAdministrator: false, isDefaultUser: false });
  }
}

function refuse(ctx: webdav.HTTPRequestContext, status: number, error: string): void {
  if (status === 304)
    ctx.setCode(304); // no body, only the validators already set
  else writeDavRefusal(ctx, status, error);
  ctx.exit();
}

/**
 * Checks the token's scopes for one WebDAV request, on the paths webdav-server itself resolved (so that
 * `..`, `%2F` and the like cannot make the check and the operation look at different nodes), then its locks
 * and its HTTP preconditions. Returns null if allowed, else [status, error].
 */
async function checkScopes(
  ctx: webdav.HTTPRequestContext,
  nodes: NodeTree,
  mountPath: string,
  locks: DavLockTable,
  conditionalWrites: SerialByKey,
): Promise<[number, string] | null> {
  const method = ctx.request.method ?? 'GET';
  let destination: string | null = null;
  if (method === 'COPY' || method === 'MOVE') {
    const result = davDestinationPath(
      ctx.headers.find('Destination') ?? undefined,
      ctx.request.headers.host,
      mountPath,
    );
    if ('error' in result) {
      // RFC 4918 allows 502 for a foreign destination; a 4xx says the request, not the server, is at fault.
      return [400, result.error === 'foreign' ? 'destination_not_on_this_server' : 'invalid_destination'];
    }
    destination = result.path;
    // webdav-server parses the header again when the command runs: give it the path checked here.
    ctx.request.headers.destination = davUrlPath(destination, mountPath);
  }
  const target = ctx.requested.path.toString();
  const destructive = destructiveDavRequest(method, target, destination);
  if (destructive) return [403, destructive];
  for (const check of davAccessChecks(method, target, destination)) {
    const node = nodes.nearestNode(check.path);
    if (!(await hasNodePermission(ctx.request as Request, node.uuid, check.permission))) {
      return [403, 'insufficient_scope'];
    }
  }
  return (
    (await checkLocks(ctx, method, target, destination, mountPath, locks)) ??
    preconditionRefusal(ctx, method, target, conditionalWrites)
  );
}

/**
 * The If header and the locks (see lockRefusal), checked after the scopes, so that a token without the right
 * to a node learns nothing of its locks. The If header then goes: webdav-server never evaluates it (its own
 * evaluation is broken, and knows nothing of these locks); LOCK keeps it, to read a refresh's tokens.
 */
async function checkLocks(
  ctx: webdav.HTTPRequestContext,
  method: string,
  target: string,
  destination: string | null,
  mountPath: string,
  locks: DavLockTable,
): Promise<[number, string] | null> {
  // A LOCK where nothing is creates a file: it is checked as the PUT it amounts to (a new member of a locked
  // folder needs that folder's lock token).
  const createsFile =
    method === 'LOCK' &&
    (await ctx.server.getResourceAsync(ctx, target).then(
      (resource) =>
        resource.typeAsync().then(
          () => false,
          () => true,
        ),
      () => true,
    ));
  const refusal = await lockRefusal(
    {
      method: createsFile ? 'PUT' : method,
      target,
      destination,
      login: (ctx.request as Request).authInfo?.login ?? '',
      ifHeader: (ctx.request as Request).get('If'),
    },
    {
      locks,
      etagOf: async (path) => {
        try {
          return await (await ctx.server.getResourceAsync(ctx, path)).etagAsync();
        } catch {
          return null; // nothing there: no entity tag matches
        }
      },
      // Only the nodes the request names (checked for above), what is below them, and the folders above them
      // (a client tags the root of a folder's lock when it writes inside): a tag elsewhere would let a token
      // probe locks and entity tags outside its scopes.
      pathOfTag: (tag) => {
        const result = davDestinationPath(tag, ctx.request.headers.host, mountPath);
        if (!('path' in result)) return null;
        const tagged = result.path;
        const related = (path: string | null) =>
          path !== null && (isSameOrBelow(tagged, path) || isSameOrBelow(path, tagged));
        return related(target) || related(destination) ? tagged : null;
      },
    },
  );
  if (method !== 'LOCK') delete ctx.request.headers.if;
  return refusal;
}

const CORS_HEADERS = [
  'Access-Control-Allow-Origin',
  'Access-Control-Allow-Credentials',
  'Access-Control-Expose-Headers',
];

export interface DavOptions {
  nodes: NodeTree;
  /** The clock of the locks' timeouts. Default: Date.now. */
  now?: () => number;
  /** Where the handler is mounted in the Express app (it must run after personalTokenAuth). */
  mountPath: string;
}

/**
 * The WebDAV part of the app: webdav-server on the node tree's files, with a per-request scope check in
 * front of every method. Mount the returned handler at the app level (not under `app.use(mountPath)`):
 * webdav-server needs the full URL to build its hrefs.
 */
export function createDavHandler({ nodes, mountPath, now }: DavOptions): RequestHandler {
  const locks = new DavLockTable({ now });
  const conditionalWrites = new SerialByKey();
  const server = new webdav.WebDAVServer({
    rootFileSystem: new NodeTrackingFileSystem(nodes, (path) => locks.forgetBelow(path)),
    httpAuthentication: new ExpressAuthenticatedUser(),
    requireAuthentification: true, // if the Express middleware were ever missing, refuse rather than serve
    respondWithPaths: true, // hrefs as /dav/... paths: right behind a proxy or TLS terminator too
    strictMode: true, // refuse a body where none is expected (e.g. MKCOL with a body: RFC 4918 9.3)
  });
  // Properties and locks are the app's own (webdav-server's mangle namespaces and ignore lock tokens).
  usePropfind(server, { locks, mountPath });
  usePropertyUpdates(server, mountPath);
  useLockCommands(server, { locks, nodes, mountPath });
  // webdav-server runs POST as PUT, and browsers send POST to any site (see refuseBrowserWrites): removed, no
  // POST writes here even where that guard is missing, and OPTIONS no longer offers it.
  delete server.methods.post;
  server.beforeRequest((ctx, next) => {
    applyDavServerWorkarounds(ctx);
    // webdav-server lets every origin read its answers (`Access-Control-Allow-Origin: *`). WebDAV
    // clients never use CORS, and no other site has any business reading a user's files.
    for (const header of CORS_HEADERS) ctx.response.removeHeader(header);
    checkScopes(ctx, nodes, mountPath, locks, conditionalWrites).then(
      (refusal) => (refusal ? refuse(ctx, refusal[0], refusal[1]) : next()),
      (error: unknown) => {
        if (error instanceof InvalidNodePathError) return refuse(ctx, 400, 'invalid_path');
        console.error('WebDAV scope check failed:', error);
        refuse(ctx, 500, 'internal_error');
      },
    );
  });
  const serve = webdav.extensions.express(mountPath, server);
  const mountPrefix = mountPath.replace(/\/+$/, '') + '/';
  return (req, res, next) => {
    // The same test as webdav-server's own Express glue: what it would not serve goes on untouched.
    if (!(req.url.endsWith('/') ? req.url : `${req.url}/`).startsWith(mountPrefix)) return next();
    const refusal = canonicalDavRequest(req, mountPath);
    if (refusal) return void (res as Response).status(refusal[0]).json({ error: refusal[1] });
    if (req.method === 'GET' || req.method === 'HEAD') setUserContentHeaders(res, req.url);
    serve(req, res, next);
  };
}
