import type { IncomingMessage } from 'node:http';
import { destinationPath, normalisePath } from './request-target';

/**
 * The request a reverse proxy asks about in a forward-auth sub-request: its method, its path
 * (decoded and normalised) and, for COPY/MOVE, the path of its `Destination`.
 */
export interface ForwardedRequest {
  method: string;
  path: string;
  destination: string | undefined;
}

export type ForwardedRequestError = 'missing_original_request' | 'invalid_original_request';

export type ReadForwardedRequest =
  | { ok: true; request: ForwardedRequest }
  | { ok: false; error: ForwardedRequestError };

// nginx is usually configured with the first name, Caddy and Traefik send the second.
const METHOD_HEADERS = ['x-original-method', 'x-forwarded-method'] as const;
const URI_HEADERS = ['x-original-uri', 'x-forwarded-uri'] as const;
// RFC 9110 method token; no real method is longer.
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

/**
 * Reads the original request from the headers the proxy sets. Each is hostile: a client may send
 * either header name itself (nginx and Caddy pass the client's headers on to the sub-request), so
 * when both names are present they must agree, and a header given twice is refused.
 */
export function readForwardedRequest(req: IncomingMessage): ReadForwardedRequest {
  const method = oneValue(req, METHOD_HEADERS);
  const uri = utf8Text(oneValue(req, URI_HEADERS));
  if (method === undefined || uri === undefined) return fail('missing_original_request');
  if (method === null || uri === null || !METHOD.test(method)) return fail('invalid_original_request');
  const path = normalisePath(uri);
  if (path === null) return fail('invalid_original_request');
  const destinationHeader = utf8Text(oneValue(req, ['destination']));
  if (destinationHeader === null) return fail('invalid_original_request');
  let destination: string | undefined;
  if (destinationHeader !== undefined) {
    const read = destinationPath(destinationHeader, requestHost(req));
    const resolved = read.ok ? normalisePath(read.path) : null;
    if (resolved === null || isSameOrBelow(resolved, path)) return fail('invalid_original_request');
    destination = resolved;
  }
  return { ok: true, request: { method, path, destination } };
}

/**
 * A COPY or MOVE onto its own source, or into it: RFC 4918 forbids it, and rclone 1.60 copies a
 * folder into itself again and again until the disk is full.
 */
function isSameOrBelow(path: string, folder: string): boolean {
  const base = folder.replace(/\/$/, '');
  const inside = path.replace(/\/$/, '');
  return inside === base || inside.startsWith(`${base}/`);
}

/**
 * The host the upstream sees in `Host`, which a `Destination` URI must name: the `X-Forwarded-Host`
 * the proxy sets (nginx's sub-request carries the auth server's own name in `Host`), else `Host`
 * (Caddy keeps the client's). undefined when unknown or given twice: no URI then names it.
 */
function requestHost(req: IncomingMessage): string | undefined {
  const forwarded = oneValue(req, ['x-forwarded-host']);
  if (forwarded !== undefined) return forwarded ?? undefined;
  return oneValue(req, ['host']) ?? undefined;
}

function fail(error: ForwardedRequestError): ReadForwardedRequest {
  return { ok: false, error };
}

/** The one value of these headers, undefined when none is sent, null when they disagree. */
function oneValue(req: IncomingMessage, names: readonly string[]): string | undefined | null {
  let found: string | undefined;
  for (const name of names) {
    for (const value of req.headersDistinct[name] ?? []) {
      if (found !== undefined && found !== value) return null;
      found = value;
    }
  }
  return found;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
// biome-ignore lint/suspicious/noControlCharactersInRegex: every ASCII character is the point
const ASCII = /^[\x00-\x7f]*$/;

/**
 * Node reads header bytes as Latin-1, but a proxy forwards a path's raw bytes as the client sent
 * them, which servers read as UTF-8: read them so too, or the mapping would see another name than
 * the upstream. null for bytes that are not UTF-8.
 */
function utf8Text(value: string | undefined | null): string | undefined | null {
  if (typeof value !== 'string' || ASCII.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return null;
  }
}
