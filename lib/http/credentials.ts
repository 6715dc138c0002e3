/**
 * Reads the `Authorization` header, for both the middleware and the Passport strategies, fixing
 * what passport-http and passport-http-bearer get wrong: the scheme is matched whole and in any
 * case (`bearer`, `BASIC`), a Basic password may contain `:` (split at the first one only, RFC 7617),
 * Basic credentials are UTF-8 and must be valid base64, and nothing is read from the query string.
 */
export type Scheme = 'bearer' | 'basic';

export type Credentials =
  /** No header, or a scheme this library does not handle (left to the app's other authentication). */
  | { scheme: 'none' }
  /** A Bearer or Basic header that breaks the grammar: a 400. */
  | { scheme: 'malformed'; attempted: Scheme }
  | { scheme: 'bearer'; token: string }
  | { scheme: 'basic'; login: string; password: string };

const NONE: Credentials = { scheme: 'none' };
// RFC 7235: auth-scheme 1*SP token68.
const HEADER = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: +(.*))?$/s;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: every ASCII character is the point
const ASCII = /^[\x00-\x7f]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readCredentials(header: string | undefined): Credentials {
  if (!header) return NONE;
  // What nearly every client sends, without the general grammar below (every request runs this).
  if (header.startsWith('Bearer ')) {
    const token = header.slice(7);
    if (TOKEN68.test(token)) return { scheme: 'bearer', token };
  } else if (header.startsWith('Basic ')) {
    const value = header.slice(6);
    // Untrimmed values go the general way, which trims them.
    if (value === value.trim()) return readBasic(value);
  }
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

const MALFORMED_BASIC: Credentials = { scheme: 'malformed', attempted: 'basic' };

function readBasic(value: string): Credentials {
  // Some clients leave out the padding; a length of 4n+1 can never be base64.
  if (!BASE64.test(value) || value.length % 4 === 1) return MALFORMED_BASIC;
  const decoded = decodeUtf8Base64(value);
  if (decoded === null) return MALFORMED_BASIC;
  const colon = decoded.indexOf(':');
  if (colon < 0) return MALFORMED_BASIC;
  return { scheme: 'basic', login: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Base64 (already checked) to text, or null if it is not UTF-8. */
function decodeUtf8Base64(value: string): string | null {
  // atob gives one character per byte: when all are ASCII that is already the text, and costs
  // a third of a Buffer and a TextDecoder, which only other text needs.
  try {
    const bytes = atob(value);
    if (ASCII.test(bytes)) return bytes;
    return utf8.decode(Buffer.from(value, 'base64'));
  } catch {
    // atob refuses what cannot be bytes ("A="); TextDecoder refuses what is not UTF-8.
    return null;
  }
}
