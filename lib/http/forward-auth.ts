import type { Request, RequestHandler, Response, Router } from 'express';
import type { OnEvent, Scheme } from '../events';
import type { ResolveUser } from '../manage/token-maker';
import { TokenService } from '../manage/token-service';
import { checkOptions, optionNames } from '../option-names';
import type { Permission, ResolveAncestors } from '../scopes';
import { type ThrottleOptions, throttleSettings } from './failure-throttle';
import { type ForwardedRequest, readForwardedRequest } from './forwarded-request';
import { personalTokenAuth } from './middleware';
import { requireNodePermission } from './node-permission';

/** The node a proxied request touches, and what it does there. */
export interface NodeAccess {
  nodeId: string;
  permission: Permission;
}

/**
 * Maps the original request (method, decoded and normalised path) to the node a scoped token must
 * cover. null: no node, so only an unscoped token passes.
 */
export type ResolveNode = (
  method: string,
  path: string,
) => NodeAccess | null | undefined | Promise<NodeAccess | null | undefined>;

/** The names of the response headers that carry the identity to the proxy (and on to the upstream). */
export interface IdentityHeaders {
  /** The token's login. Default `X-Auth-User`. */
  user?: string;
  /** The token's public id. Default `X-Auth-Token-Id`. */
  tokenId?: string;
  /** The token's scopes, comma-separated; empty for an unscoped token. Default `X-Auth-Scopes`. */
  scopes?: string;
}

export interface ForwardAuthOptions {
  /** The token service to check tokens against. */
  tokens: TokenService;
  /** The app's user for a token's login; null/undefined refuses the request. Default: the service's. */
  resolveUser?: ResolveUser;
  /** Which node a request touches, for scoped tokens. Without it only unscoped tokens pass. */
  resolveNode?: ResolveNode;
  /** A node's ancestors, so that a scope on a folder covers everything below it. */
  resolveAncestors?: ResolveAncestors;
  /** Response header names. */
  headers?: IdentityHeaders;
  /**
   * Which schemes to accept, in the order of the 401's challenges. Default `['basic', 'bearer']`:
   * Basic first, because nginx before 1.23 passes only the first challenge on to the client.
   */
  schemes?: readonly Scheme[];
  /** The realm of the challenges. Default `Users`. */
  realm?: string;
  /** Seconds in the `Retry-After` of a 503 when the store is unavailable. Default 1. */
  retryAfter?: number;
  /** Audit events. Default: the service's `onEvent`. */
  onEvent?: OnEvent;
  /** Failed-authentication throttling per client IP (`req.ip`: set `trust proxy` for the proxy). */
  throttle?: ThrottleOptions;
}

const OPTION_NAMES = optionNames<ForwardAuthOptions>({
  tokens: true,
  resolveUser: true,
  resolveNode: true,
  resolveAncestors: true,
  headers: true,
  schemes: true,
  realm: true,
  retryAfter: true,
  onEvent: true,
  throttle: true,
});
const HEADER_OPTION_NAMES = optionNames<IdentityHeaders>({ user: true, tokenId: true, scopes: true });

const DEFAULT_HEADERS: Required<IdentityHeaders> = {
  user: 'X-Auth-User',
  tokenId: 'X-Auth-Token-Id',
  scopes: 'X-Auth-Scopes',
};
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const PERMISSIONS: readonly Permission[] = ['r', 'w', 'rw'];

/** What the router learnt of a request before the scope checks. */
interface Access {
  target: NodeAccess | null;
  destination: NodeAccess | null | undefined;
}

/**
 * Express router for the sub-request of a reverse proxy (nginx `auth_request`, Caddy `forward_auth`,
 * Traefik `ForwardAuth`), answering at the path it is mounted on, whatever the method. It reads the
 * token from the forwarded `Authorization` and the original request from `X-Original-Method` /
 * `X-Original-URI` or `X-Forwarded-Method` / `X-Forwarded-Uri`, then answers 200 with the identity
 * in response headers for the proxy to copy upstream, 401 with a challenge per scheme, 403 when a
 * scoped token does not cover the request, 400 for a request it cannot read, 429 when throttled, 503
 * when the store is down. A request with a `Destination` (COPY, MOVE) also needs `w` on the node
 * `resolveNode(method, destination)` names.
 */
export function forwardAuth(options: ForwardAuthOptions): Router {
  checkOptions('forwardAuth', options, OPTION_NAMES);
  // Checked here too, not only by the middleware, so that the messages name this factory.
  if (options.throttle) throttleSettings('forwardAuth', options.throttle);
  const { tokens, resolveNode } = options;
  if (!(tokens instanceof TokenService)) throw new TypeError('forwardAuth needs { tokens: TokenService }');
  if (resolveNode !== undefined && typeof resolveNode !== 'function') {
    throw new TypeError('resolveNode must be a function (method, path) => { nodeId, permission } | null');
  }
  const names = identityHeaderNames(options.headers);
  const authenticate = personalTokenAuth({
    tokens,
    resolveUser: options.resolveUser,
    resolveAncestors: options.resolveAncestors,
    schemes: options.schemes ?? ['basic', 'bearer'],
    realm: options.realm,
    retryAfter: options.retryAfter,
    onEvent: options.onEvent,
    throttle: options.throttle,
  });
  const requests = new WeakMap<Request, ForwardedRequest>();
  const accesses = new WeakMap<Request, Access>();

  const readRequest: RequestHandler = (req, res, next) => {
    const read = readForwardedRequest(req);
    if (!read.ok) {
      res.status(400).set('Cache-Control', 'no-store').json({ error: read.error });
      return;
    }
    requests.set(req, read.request);
    next();
  };

  const resolveAccess: RequestHandler = (req, _res, next) => {
    const request = requests.get(req)!;
    // Only a scoped token is narrowed: the app's mapping is not asked about the others.
    if (!resolveNode || (req.authInfo?.scopes ?? []).length === 0) {
      accesses.set(req, { target: null, destination: request.destination === undefined ? undefined : null });
      return next();
    }
    // No node: refused to a scoped token, whose scope cannot be checked against a lock token's path.
    if (namesLockByTokenOnly(request.method, req.headers.if)) {
      accesses.set(req, { target: null, destination: undefined });
      return next();
    }
    Promise.all([
      resolveNode(request.method, request.path),
      request.destination === undefined ? undefined : resolveNode(request.method, request.destination),
    ])
      .then(([target, destination]) => {
        accesses.set(req, {
          target: checkedAccess(target),
          destination: request.destination === undefined ? undefined : checkedAccess(destination),
        });
      })
      .then(() => next(), next);
  };

  // requireNodePermission() answers a refusal (403, audit event, Bearer challenge); an empty node id
  // passes an unscoped token and refuses a scoped one, which is what "no node" means here.
  const nodeOf = (access: NodeAccess | null | undefined) => access?.nodeId ?? '';
  const targetGuards = Object.fromEntries(
    PERMISSIONS.map((permission) => [
      permission,
      requireNodePermission((req) => nodeOf(accesses.get(req)!.target), permission),
    ]),
  ) as Record<Permission, RequestHandler>;
  const destinationGuard = requireNodePermission((req) => nodeOf(accesses.get(req)!.destination), 'w');

  const checkTarget: RequestHandler = (req, res, next) =>
    targetGuards[accesses.get(req)!.target?.permission ?? 'rw'](req, res, next);
  const checkDestination: RequestHandler = (req, res, next) =>
    accesses.get(req)!.destination === undefined ? next() : destinationGuard(req, res, next);

  const answer = (req: Request, res: Response): void => {
    const info = req.authInfo!;
    res
      .status(200)
      .set('Cache-Control', 'no-store')
      .set(names.user, headerValue(info.login ?? ''))
      .set(names.tokenId, info.tokenId ?? '')
      .set(names.scopes, (info.scopes ?? []).map(headerValue).join(','))
      .end();
  };

  const router = loadExpress().Router();
  router.all('/', readRequest, authenticate, resolveAccess, checkTarget, checkDestination, answer);
  return router;
}

/**
 * An `UNLOCK`, or a `LOCK` that refreshes (it names its lock in `If`): the lock token names no path,
 * and Go's x/net/webdav (rclone) applies both whatever the request's path, with lock tokens numbered
 * in sequence, so a scope on the request's path says nothing about the lock they act on.
 */
function namesLockByTokenOnly(method: string, ifHeader: unknown): boolean {
  return method === 'UNLOCK' || (method === 'LOCK' && ifHeader !== undefined);
}

function identityHeaderNames(headers: IdentityHeaders | undefined): Required<IdentityHeaders> {
  if (headers !== undefined) checkOptions('forwardAuth', headers, HEADER_OPTION_NAMES, 'headers');
  const names: Required<IdentityHeaders> = {
    user: headers?.user ?? DEFAULT_HEADERS.user,
    tokenId: headers?.tokenId ?? DEFAULT_HEADERS.tokenId,
    scopes: headers?.scopes ?? DEFAULT_HEADERS.scopes,
  };
  for (const [key, name] of Object.entries(names)) {
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
      throw new TypeError(`headers.${key} must be an HTTP header name`);
    }
  }
  return names;
}

function checkedAccess(access: NodeAccess | null | undefined): NodeAccess | null {
  if (access === null || access === undefined) return null;
  if (typeof access.nodeId !== 'string' || !PERMISSIONS.includes(access.permission)) {
    throw new TypeError('resolveNode must return { nodeId: string, permission: "r" | "w" | "rw" } or null');
  }
  return access;
}

/**
 * Text as a header value: printable ASCII stays as it is, anything else (and `%`) is percent-encoded
 * as UTF-8, so that a login with non-Latin letters is neither refused by Node nor garbled by a proxy.
 */
function headerValue(text: string): string {
  return text.replace(/[^\x21-\x24\x26-\x7e]+/g, (run) =>
    [...Buffer.from(run, 'utf8')]
      .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
      .join(''),
  );
}

/** Express is loaded when a router is made, not when the package is (see tokenRouter). */
function loadExpress(): typeof import('express') {
  return require('express');
}
