import { canonicalPath, InvalidNodePathError } from './node-tree';

export type DavPathResult = { path: string } | { error: 'foreign' | 'invalid' };

/**
 * The node path a WebDAV URL path names, decoded and normalised once, here, for the scope check, the
 * protections of the root and webdav-server alike: percent-decoded segment by segment (a malformed escape is
 * invalid), an encoded slash or backslash separating segments as webdav-server's Path does, empty segments
 * and `.` dropped, `..` resolved (above the root is invalid), and the result held to the node tree's rules
 * (no NUL, no over-long names). A path outside `mountPath` is foreign.
 */
export function davPathBelowMount(urlPath: string, mountPath: string): DavPathResult {
  const mount = mountPath.replace(/\/+$/, '');
  if (urlPath !== mount && !urlPath.startsWith(mount + '/')) return { error: 'foreign' };
  const resolved: string[] = [];
  for (const encoded of urlPath.slice(mount.length).split(/[\\/]+/)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(encoded);
    } catch {
      return { error: 'invalid' };
    }
    for (const segment of decoded.split(/[\\/]+/)) {
      if (segment === '' || segment === '.') continue;
      if (segment !== '..') resolved.push(segment);
      else if (resolved.pop() === undefined) return { error: 'invalid' };
    }
  }
  try {
    return { path: canonicalPath('/' + resolved.join('/')) };
  } catch (error) {
    if (error instanceof InvalidNodePathError) return { error: 'invalid' };
    throw error;
  }
}

/** The URL path of a node path under mountPath, each segment percent-encoded: what webdav-server decodes back. */
export function davUrlPath(path: string, mountPath: string): string {
  const mount = mountPath.replace(/\/+$/, '');
  if (path === '/') return mount + '/';
  return mount + path.split('/').map(encodeURIComponent).join('/');
}
