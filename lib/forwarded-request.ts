import type { IncomingMessage } from 'node:http';

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
const MAX_URI = 8192;
// After decoding, a segment must not hide a separator (`%2f`, and `\` that some servers split on)
// nor a control character (`%00` ends a C string in the upstream).
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const UNSAFE_SEGMENT = /[/\\\u0000-\u001f\u007f]/;
const DOT_SEGMENT_WITH_PARAMETERS = /^\.\.?;/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

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
    const resolved = normalisePath(destinationPath(destinationHeader));
    if (resolved === null) return fail('invalid_original_request');
    destination = resolved;
  }
  return { ok: true, request: { method, path, destination } };
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

/** The raw path of a `Destination`: an absolute URL (RFC 4918) or an absolute path. */
function destinationPath(header: string): string {
  const value = header.trim();
  const schemeEnd = value.indexOf('://');
  if (schemeEnd === -1) return value;
  const pathStart = value.indexOf('/', schemeEnd + 3);
  return pathStart === -1 ? '' : value.slice(pathStart);
}

/**
 * A request-target's path, percent-decoded segment by segment, with empty, `.` and `..` segments
 * resolved as servers do; null for what cannot be decoded without ambiguity: bad `%`, text that is
 * not UTF-8, an encoded `/` or `\`, a control character, a `..` above the root, a raw `#`, or a
 * dot segment with parameters (`..;x`).
 *
 * A request-target never carries a fragment, so a raw `#` is no end of the path here: nginx passes
 * it on as it came (`$request_uri`), and upstreams disagree on it (Go's servers take it as part of
 * the path and clean `/docs#/../secret` to `/secret`; rclone as part of a name). Servlet containers
 * read `..;x` as `..`.
 */
export function normalisePath(uri: string): string | null {
  if (uri.length > MAX_URI || !uri.startsWith('/') || uri.includes('#')) return null;
  const end = uri.indexOf('?');
  const raw = end === -1 ? uri : uri.slice(0, end);
  if (BAD_PERCENT.test(raw)) return null;
  const segments: string[] = [];
  for (const part of raw.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return null;
    }
    if (UNSAFE_SEGMENT.test(segment) || DOT_SEGMENT_WITH_PARAMETERS.test(segment)) return null;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.pop() === undefined) return null;
      continue;
    }
    segments.push(segment);
  }
  const folder = segments.length > 0 && raw.endsWith('/');
  return `/${segments.join('/')}${folder ? '/' : ''}`;
}
