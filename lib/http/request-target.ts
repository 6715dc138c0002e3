/**
 * The path a request-target, or a WebDAV `Destination`, names: read as the servers behind a proxy read
 * it, or refused when they could read it differently. Forward auth checks a scope on this path and the
 * upstream then acts on its own reading of the same text; any text two servers could map to two paths
 * lets a token act outside its scope, so such text is refused, never guessed at.
 */

const MAX_URI = 8192;
// After decoding, a segment must not hide a separator (`%2f`, and `\` that some servers split on)
// nor a control character (`%00` ends a C string in the upstream).
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const UNSAFE_SEGMENT = /[/\\\u0000-\u001f\u007f]/;
const DOT_SEGMENT_WITH_PARAMETERS = /^\.\.?;/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

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

export type DestinationPath = { ok: true; path: string } | { ok: false; error: 'invalid' | 'foreign' };

// RFC 3986 path characters (unreserved, sub-delims, `:`, `@`, `/`, a `%` escape), and letters beyond
// ASCII that clients send as raw UTF-8. No `?` or `#` (Go's url.Parse, nginx's dav module and a WHATWG
// parser would cut the path there, forward auth before this rule did not), no `\` (a WHATWG parser
// reads it as `/`), no space, quote or other character a parser may encode, keep or refuse at will.
const DESTINATION_PATH =
  /^\/(?!\/)(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2}|[^\p{ASCII}\p{C}\p{Z}])*$/u;
// `http://` or `https://` at the very start, then the authority up to the path. Userinfo (`@`) is
// not allowed in it: a reader that does not expect it takes the text before the `@` as the host.
const ABSOLUTE_URI = /^(https?):\/\/([^/?#@\\]*)(\/.*)?$/is;
// A host as a Host header names it: a registered name or an IPv4 address, or an IPv6 literal, and
// an optional port.
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/**
 * The path of a COPY/MOVE `Destination` (RFC 4918: an absolute URI, or an absolute path), still
 * percent-encoded, for the caller to decode as its server does. An absolute URI must be `http` or
 * `https`, without userinfo, and name `host` (the request's own host, as the upstream sees it in
 * `Host`; undefined when unknown) and its port exactly: another is `foreign`. Anything else a
 * server could read as another path is `invalid`: a query, a fragment, a `//` where a path starts
 * (a network-path reference: Go's servers take what follows as a host), whitespace, a control
 * character, a backslash, or a path that `normalisePath` refuses. The URI is also parsed with the
 * WHATWG URL parser, and must give the same host and path there.
 */
export function destinationPath(header: string, host: string | undefined): DestinationPath {
  if (header.length > MAX_URI) return { ok: false, error: 'invalid' };
  if (header.startsWith('/')) return checkedPath(header);
  const uri = ABSOLUTE_URI.exec(header);
  if (uri === null) return { ok: false, error: 'invalid' };
  const [, scheme, authority, path] = uri as unknown as [string, string, string, string | undefined];
  if (path === undefined || !HOST.test(authority)) return { ok: false, error: 'invalid' };
  const checked = checkedPath(path);
  if (!checked.ok) return checked;
  if (host === undefined || !HOST.test(host) || authority.toLowerCase() !== host.toLowerCase()) {
    return { ok: false, error: 'foreign' };
  }
  const parsed = whatwgUrl(header);
  const expected = whatwgUrl(`${scheme}://${host}/`);
  if (
    parsed === null ||
    expected === null ||
    parsed.protocol !== `${scheme.toLowerCase()}:` ||
    parsed.host !== expected.host ||
    parsed.username !== '' ||
    parsed.password !== '' ||
    parsed.search !== '' ||
    parsed.hash !== '' ||
    normalisePath(parsed.pathname) !== normalisePath(path)
  ) {
    return { ok: false, error: 'invalid' };
  }
  return checked;
}

function checkedPath(path: string): DestinationPath {
  if (!DESTINATION_PATH.test(path) || normalisePath(path) === null) return { ok: false, error: 'invalid' };
  return { ok: true, path };
}

function whatwgUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}
