/**
 * Reads the `Authorization` header, for both the middleware and the Passport strategies, fixing
 * what passport-http and passport-http-bearer get wrong: the scheme is matched whole and in any
 * case (`bearer`, `BASIC`), a Basic password may contain `:` (split at the first one only, RFC 7617),
 * Basic credentials are UTF-8 and must be valid base64, and nothing is read from the query string.
 */
export type Credentials =
  /** No header, or a scheme this library does not handle (left to the app's other authentication). */
  | { scheme: 'none' }
  /** A Bearer or Basic header that breaks the grammar: a 400. */
  | { scheme: 'malformed'; attempted: 'bearer' | 'basic' }
  | { scheme: 'bearer'; token: string }
  | { scheme: 'basic'; login: string; password: string };

const NONE: Credentials = { scheme: 'none' };
// RFC 7235: auth-scheme 1*SP token68.
const HEADER = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: +(.*))?$/s;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readCredentials(header: string | undefined): Credentials {
  if (!header) return NONE;
  const match = HEADER.exec(header);
  if (!match) return NONE;
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return NONE;
  const value = match[2]?.trim() ?? '';
  if (scheme === 'bearer') {
    return TOKEN68.test(value)
      ? { scheme: 'bearer', token: value }
      : { scheme: 'malformed', attempted: 'bearer' };
  }
  return readBasic(value);
}

function readBasic(value: string): Credentials {
  const malformed: Credentials = { scheme: 'malformed', attempted: 'basic' };
  // Some clients leave out the padding; a length of 4n+1 can never be base64.
  if (!BASE64.test(value) || value.length % 4 === 1) return malformed;
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(value, 'base64'));
  } catch {
    return malformed;
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return malformed;
  return { scheme: 'basic', login: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
