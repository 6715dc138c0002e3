import type { Permission } from 'personal-token-auth';
import { v2 as webdav } from 'webdav-server';
import { isSameOrBelow, parentPath } from './node-tree';

/** One thing a WebDAV request must be allowed to do: `permission` on the node at (or nearest above) `path`. */
export interface DavAccessCheck {
  path: string;
  permission: Permission;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'PROPFIND']);
// OPTIONS only describes the server; the request is still authenticated, it just needs no scope.
const SCOPE_FREE_METHODS = new Set(['OPTIONS']);

/**
 * What a WebDAV request needs, by method. Reads need `r` on the target; every other method (PUT, MKCOL,
 * DELETE, PROPPATCH, LOCK, UNLOCK, and any method not listed, so an unknown one fails closed) needs `w`.
 * COPY reads its source and MOVE takes it away (r / w); both create a child in the destination's parent (w).
 * A target that does not exist yet is checked on its nearest existing ancestor (see the caller), so creating
 * `/docs/new.txt` needs `w` on `/docs`.
 */
export function davAccessChecks(
  method: string,
  target: string,
  destination: string | null,
): DavAccessCheck[] {
  const verb = method.toUpperCase();
  if (SCOPE_FREE_METHODS.has(verb)) return [];
  if (READ_METHODS.has(verb)) return [{ path: target, permission: 'r' }];
  if (verb === 'COPY' || verb === 'MOVE') {
    const checks: DavAccessCheck[] = [{ path: target, permission: verb === 'COPY' ? 'r' : 'w' }];
    if (destination !== null) checks.push({ path: parentPath(destination) ?? '/', permission: 'w' });
    return checks;
  }
  return [{ path: target, permission: 'w' }];
}

/**
 * Requests that webdav-server would carry out by destroying data, refused whatever the token (403). A DELETE
 * of the share's root removes the served folder itself (the app then has nowhere to put files). A MOVE or
 * COPY onto the source's own folder, or any folder above it (the root included), deletes that destination
 * first when `Overwrite: T`, and the source with it. Returns the error code, or null if the request is fine.
 */
export function destructiveDavRequest(
  method: string,
  target: string,
  destination: string | null,
): string | null {
  if (method.toUpperCase() === 'DELETE' && target === '/') return 'root_is_protected';
  if (destination !== null && isSameOrBelow(target, destination)) return 'destination_contains_source';
  return null;
}

export type DestinationResult = { path: string } | { error: 'missing' | 'foreign' | 'invalid' };

/**
 * The DAV path a COPY/MOVE Destination header points at, computed exactly as webdav-server's Copy/Move
 * commands do (so the scope check and the operation agree on the node), except that a destination outside
 * this server's mount point is refused instead of being reinterpreted as a path inside it.
 */
export function davDestinationPath(header: string | undefined, mountPath: string): DestinationResult {
  if (!header) return { error: 'missing' };
  let destination = header.trim();
  const schemeEnd = destination.indexOf('://');
  if (schemeEnd !== -1) {
    destination = destination.substring(schemeEnd + '://'.length);
    const pathStart = destination.indexOf('/');
    if (pathStart === -1) return { error: 'foreign' };
    destination = destination.substring(pathStart);
  }
  const mount = mountPath.replace(/\/+$/, '');
  if (destination !== mount && !destination.startsWith(mount + '/')) return { error: 'foreign' };
  try {
    const path = new webdav.Path(destination.substring(mount.length));
    path.decode();
    if (path.resolve()) return { error: 'invalid' };
    return { path: path.toString() };
  } catch {
    return { error: 'invalid' }; // malformed percent-encoding
  }
}
