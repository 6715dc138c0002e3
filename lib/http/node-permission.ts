import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { emit } from '../events';
import { checkOptions, optionNames } from '../option-names';
import type { ResolveAncestors } from '../scopes';
import { type Permission, scopeGrants, scopesAllow } from '../scopes';
import { bearerChallenge, DEFAULT_REALM } from './challenges';
import { clientIp } from './client-ip';
import { getRequestContext } from './request-context';

export interface NodePermissionOptions {
  /** Overrides the `resolveAncestors` given to `personalTokenAuth()`. */
  resolveAncestors?: ResolveAncestors;
}

const OPTION_NAMES = optionNames<NodePermissionOptions>({ resolveAncestors: true });
const PERMISSIONS: readonly string[] = ['r', 'w', 'rw'];

/**
 * What a route's `getNodeId` may answer: typically `req.params.id`, which Express 5 types as
 * `string | string[]` (a wildcard parameter is a list of segments). Only a non-empty string names a
 * node; anything else names none, so a scoped token is refused.
 */
export type NodeIdSource = string | readonly string[] | undefined;

/**
 * Whether the request's personal token allows `permission` on a node. A request that was not
 * authenticated by a personal token, or whose token has no scopes, is not narrowed: this only ever
 * takes away from what the app's own access rules allow, it never grants anything.
 */
export async function hasNodePermission(
  req: Request,
  nodeId: string,
  permission: Permission,
  options: NodePermissionOptions = {},
): Promise<boolean> {
  if (!PERMISSIONS.includes(permission)) throw new TypeError(`permission must be 'r', 'w' or 'rw'`);
  const scopes = req.authInfo?.tokenId === undefined ? [] : (req.authInfo.scopes ?? []);
  if (scopes.length === 0) return true;
  if (typeof nodeId !== 'string' || nodeId.length === 0) return false;
  // Direct hit first: no need to ask for ancestors.
  if (scopesAllow(scopes, nodeId, [], permission)) return true;
  const resolveAncestors = options.resolveAncestors ?? getRequestContext(req)?.resolveAncestors;
  if (!resolveAncestors) return false;
  const scoped = scopeGrants(scopes);
  const ancestors = (await resolveAncestors(nodeId)).filter((id) => scoped.has(id));
  return scopesAllow(scopes, nodeId, ancestors, permission);
}

/**
 * Route middleware: 403 `{"error":"insufficient_scope"}` unless the request's token allows
 * `permission` on the node `getNodeId(req)` names (with the RFC 6750 challenge for Bearer).
 */
export function requireNodePermission(
  getNodeId: (req: Request) => NodeIdSource | Promise<NodeIdSource>,
  permission: Permission,
  options: NodePermissionOptions = {},
): RequestHandler {
  if (typeof getNodeId !== 'function')
    throw new TypeError('requireNodePermission needs a function (req) => nodeId');
  if (!PERMISSIONS.includes(permission)) throw new TypeError(`permission must be 'r', 'w' or 'rw'`);
  // Here, once, and not in hasNodePermission(), which runs on every request.
  checkOptions('requireNodePermission', options, OPTION_NAMES);
  return (req: Request, res: Response, next: NextFunction) => {
    Promise.resolve()
      .then(() => getNodeId(req))
      .then((nodeId) => hasNodePermission(req, typeof nodeId === 'string' ? nodeId : '', permission, options))
      .then((allowed) => {
        if (allowed) return next();
        const context = getRequestContext(req);
        emit(context?.onEvent, {
          type: 'rejected',
          time: new Date(),
          reason: 'insufficient_scope',
          tokenId: req.authInfo?.tokenId,
          login: req.authInfo?.login,
          ip: clientIp(req),
          scheme: req.authInfo?.scheme,
        });
        if (req.authInfo?.scheme === 'bearer') {
          res.set('WWW-Authenticate', bearerChallenge(context?.realm ?? DEFAULT_REALM, 'insufficient_scope'));
        }
        res.status(403).json({ error: 'insufficient_scope' });
      }, next);
  };
}
