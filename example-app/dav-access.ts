import { destinationPath, type Permission } from 'personal-token-auth';
import { davPathBelowMount } from './dav-paths';
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
 * Requests refused whatever the token (403): those webdav-server would carry out by destroying data, and one
 * it would answer with a 502. A DELETE of the share's root removes the served folder itself (the app then has
 * nowhere to put files). A MOVE or COPY onto the source's own folder, or any folder above it (the root
 * included), deletes that destination first when `Overwrite: T`, and the source with it. A MOVE or COPY of a
 * folder into itself cannot be done. Paths are canonical (see davPathBelowMount), so no encoding of the root
 * escapes these tests. Returns the error code, or null if the request is fine.
 */
export function destructiveDavRequest(
  method: string,
  target: string,
  destination: string | null,
): string | null {
  if (method.toUpperCase() === 'DELETE' && target === '/') return 'root_is_protected';
  if (destination !== null && isSameOrBelow(target, destination)) return 'destination_contains_source';
  if (destination !== null && isSameOrBelow(destination, target)) return 'destination_inside_source';
  return null;
}

export type DestinationResult = { path: string } | { error: 'missing' | 'foreign' | 'invalid' };

/**
 * The node path a COPY/MOVE Destination header points at: read by the library's `destinationPath` (an
 * absolute URL on `host`, the request's own, or an absolute path; anything a server could read as another
 * path is invalid), then decoded and normalised as the request's own path is (see davPathBelowMount). A
 * destination outside this server's mount point is refused instead of being reinterpreted as a path inside
 * it, as webdav-server would.
 */
export function davDestinationPath(
  header: string | undefined,
  host: string | undefined,
  mountPath: string,
): DestinationResult {
  if (!header) return { error: 'missing' };
  const destination = destinationPath(header, host);
  if (!destination.ok) return { error: destination.error };
  return davPathBelowMount(destination.path, mountPath);
}
