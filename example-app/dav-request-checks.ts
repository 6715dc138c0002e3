import type { IncomingHttpHeaders } from 'node:http';
import type { Request } from 'express';
import { davPathBelowMount, davUrlPath } from './dav-paths';

// webdav-server reads these headers by a loose name (dashes and spaces ignored, any case) and takes the first
// match, so `Destin-ation` or `contentlength` would reach it unseen by every check made on the real header.
const HEADERS_READ_BY_DAV_SERVER = [
  'accept',
  'content-length',
  'depth',
  'destination',
  'host',
  'if',
  'lock-token',
  'overwrite',
  'range',
  'source',
  'translate',
];
const looseName = (name: string) => name.replace(/[- ]/g, '').toLowerCase();
const LOOSE_NAMES = new Set(HEADERS_READ_BY_DAV_SERVER.map(looseName));

// webdav-server buffers the whole body of every method but PUT in one Buffer of the announced length before
// the command runs; the XML bodies of PROPFIND, PROPPATCH or LOCK are a few kilobytes.
const MAX_BUFFERED_BODY_BYTES = 1024 * 1024;

/** Whether a header would be read by webdav-server as one of its own although it is spelled differently. */
function hasAliasedHeader(headers: IncomingHttpHeaders): boolean {
  return Object.keys(headers).some(
    (name) => LOOSE_NAMES.has(looseName(name)) && !HEADERS_READ_BY_DAV_SERVER.includes(name),
  );
}

/**
 * Checks a request bound for webdav-server and rewrites its URL to the canonical, percent-encoded form of the
 * node path it names (see davPathBelowMount), so that webdav-server, the scope check and the protections of
 * the root all see one path, and webdav-server never meets a NUL, a malformed escape or an empty segment.
 * Returns null if the request may go on, else [status, error].
 */
export function canonicalDavRequest(req: Request, mountPath: string): [number, string] | null {
  if (hasAliasedHeader(req.headers)) return [400, 'ambiguous_header'];
  const contentLength = Number(req.headers['content-length'] ?? 0);
  if (req.method !== 'PUT' && contentLength > MAX_BUFFERED_BODY_BYTES) return [413, 'body_too_large'];
  const urlPath = req.url.split(/[?#]/, 1)[0]!;
  const target = davPathBelowMount(urlPath, mountPath);
  if ('error' in target) return [400, 'invalid_path'];
  req.url = davUrlPath(target.path, mountPath);
  return null;
}
