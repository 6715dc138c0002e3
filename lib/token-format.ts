import * as crypto from 'node:crypto';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The token text: `<prefix><id><secret><terms><checksum>`, e.g. `pat_` + 16 hex + 43 base64url +
 * 17 base36 + 6 base62.
 *
 * - The prefix makes a leaked token recognisable to people and secret scanners.
 * - The secret is 256 bits from `crypto.randomBytes`.
 * - The terms are the token's sliding window (8 base36 digits, ms, 0 = none) and hard limit (9 base36
 *   digits, ms since the epoch, 0 = none). Carrying them lets a check refresh a sliding token with a
 *   single native Redis command (GETEX) whose TTL is already right, with no script.
 * - The hash of secret + terms (SHA-256, in hex) is the only secret material ever stored. Its first
 *   16 hex digits (8 bytes) are the public id, which lists, logs and `revoke <id>` use. So a token whose terms were
 *   changed, or made up around a known id, does not match its own id and is refused before any
 *   store call: knowing a public id is no way to keep its token alive.
 * - The checksum (CRC32 of everything before it, as GitHub's tokens) lets a truncated, mistyped or
 *   random string be rejected without even hashing it.
 * Every character is URL-safe and none is `:`, so the token is also a valid Basic-auth password.
 */
export const DEFAULT_TOKEN_PREFIX = 'pat_';

/** A token's public id: 16 hex digits, right after the prefix. */
export const TOKEN_ID_LENGTH = 16;
const ID_LENGTH = TOKEN_ID_LENGTH;
const SECRET_BYTES = 32;
const SECRET_LENGTH = 43; // base64url of 32 bytes, no padding
const WINDOW_LENGTH = 8;
const LIMIT_LENGTH = 9;
const CHECKSUM_LENGTH = 6; // base62 of a 32-bit CRC
const TAIL_LENGTH = SECRET_LENGTH + WINDOW_LENGTH + LIMIT_LENGTH;
const BODY_LENGTH = ID_LENGTH + TAIL_LENGTH + CHECKSUM_LENGTH;

/** The longest sliding window and the latest hard limit the terms can carry (about 89 years; year 5138). */
export const MAX_WINDOW = 36 ** WINDOW_LENGTH - 1;
export const MAX_HARD_LIMIT = 36 ** LIMIT_LENGTH - 1;

const PREFIX = /^[A-Za-z][A-Za-z0-9_-]{0,15}$/;
const ID = /^[0-9a-f]{16}$/;
// Everything after the prefix, matched in place (sticky, from lastIndex): no substring per check.
const BODY = /[0-9a-f]{16}[A-Za-z0-9_-]{43}[0-9a-z]{17}[0-9A-Za-z]{6}$/y;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The expiry terms a token carries. */
export interface TokenTerms {
  /** Sliding window in ms, or null. */
  autoRefresh: number | null;
  /** Hard limit, ms since the epoch, or null. */
  hardExpiresAt: number | null;
}

/**
 * The expiry a use at `now` gives a sliding token: `now + window`, never past its hard limit. null
 * for a token with only a hard limit, whose expiry no use moves.
 */
export function slidingExpiry(terms: TokenTerms, now: number): number | null {
  return terms.autoRefresh === null
    ? null
    : Math.min(now + terms.autoRefresh, terms.hardExpiresAt ?? Number.POSITIVE_INFINITY);
}

export interface ParsedToken extends TokenTerms {
  id: string;
  /** SHA-256 of secret + terms, 64 hex digits: what the store keeps. */
  secretHash: string;
}

/** Throws a TypeError for a prefix that would make tokens ambiguous or unsafe in a URL or a Basic password. */
export function assertTokenPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new TypeError(
      `tokenPrefix must be 1 to 16 characters of letters, digits, "_" or "-", starting with a letter (got ${JSON.stringify(prefix)})`,
    );
  }
}

// As long a run of base64 or base64url characters as a secret: it could be one (or hold one).
const SECRET_SIZED_RUN = new RegExp(`[A-Za-z0-9+/_-]{${SECRET_LENGTH},}`);

/**
 * For text that is not meant to be a token (a claimed login, a label, an option value): whether it
 * could hold a token of this prefix or its secret. That is the prefix followed by an id, in any case
 * and anywhere (`" pat_…"`, `"Bearer pat_…"`), or a run of base64 characters as long as a secret.
 * Such text is refused, and never stored, reported or echoed, wherever it was pasted.
 */
export function tokenLikeText(prefix: string): (text: string) => boolean {
  assertTokenPrefix(prefix);
  // The prefix is letters, digits, `_` and `-`: nothing in it needs escaping in a pattern.
  const prefixAndId = new RegExp(`${prefix}[0-9a-f]{${ID_LENGTH}}`, 'i');
  return (text) => SECRET_SIZED_RUN.test(text) || prefixAndId.test(text);
}

/** How many characters a token of this prefix has: every token is exactly this long. */
export function tokenLength(prefix: string): number {
  return prefix.length + BODY_LENGTH;
}

export function isTokenId(id: string): boolean {
  return typeof id === 'string' && ID.test(id);
}

/** The public id that goes with a stored hash: its first 8 bytes (16 hex digits). */
export function tokenIdOf(secretHash: string): string {
  return secretHash.slice(0, ID_LENGTH);
}

/** Makes a new token. The caller hands `token` to the user once and stores only `secretHash`. */
export function generateToken(
  prefix: string,
  terms: TokenTerms,
): { token: string; id: string; secretHash: string } {
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return formatToken(prefix, secret, terms);
}

/** The token text for a secret and terms, with its id and checksum. */
export function formatToken(
  prefix: string,
  secret: string,
  terms: TokenTerms,
): { token: string; id: string; secretHash: string } {
  const tail =
    secret + base36(terms.autoRefresh ?? 0, WINDOW_LENGTH) + base36(terms.hardExpiresAt ?? 0, LIMIT_LENGTH);
  const secretHash = sha256Hex(tail);
  const id = secretHash.slice(0, ID_LENGTH);
  const body = prefix + id + tail;
  return { token: body + checksum(body), id, secretHash };
}

/**
 * Reads a token, or says why not: `'malformed'` (wrong shape or prefix), `'bad_checksum'` (right
 * shape, wrong checksum) or `'forged'` (its id is not the hash of its secret and terms: never issued
 * as it stands). Pure and cheap: this is what keeps garbage away from the store.
 */
export function parseToken(
  token: string,
  prefix: string,
): ParsedToken | 'malformed' | 'bad_checksum' | 'forged' {
  // This runs on every request: one regex in place, one CRC, one hash, and only the strings the
  // result needs (hashing to hex is also less than half the cost of hashing to a Buffer).
  if (
    typeof token !== 'string' ||
    token.length !== prefix.length + BODY_LENGTH ||
    !token.startsWith(prefix)
  ) {
    return 'malformed';
  }
  BODY.lastIndex = prefix.length;
  if (!BODY.test(token)) return 'malformed';
  const checksumAt = token.length - CHECKSUM_LENGTH;
  if (crc32(token.slice(0, checksumAt)) !== base62Value(token, checksumAt)) return 'bad_checksum';
  const tailAt = prefix.length + ID_LENGTH;
  const secretHash = sha256Hex(token.slice(tailAt, tailAt + TAIL_LENGTH));
  const id = secretHash.slice(0, ID_LENGTH);
  if (!token.startsWith(id, prefix.length)) return 'forged';
  const termsAt = tailAt + SECRET_LENGTH;
  const window = Number.parseInt(token.slice(termsAt, termsAt + WINDOW_LENGTH), 36);
  const hard = Number.parseInt(token.slice(termsAt + WINDOW_LENGTH, checksumAt), 36);
  return {
    id,
    secretHash,
    autoRefresh: window === 0 ? null : window,
    hardExpiresAt: hard === 0 ? null : hard,
  };
}

// Called through this reference, not as `text.charCodeAt(i)`: once any object in the process has
// String.prototype for its prototype (ioredis 6 subclasses String), V8 stops inlining string methods
// called as methods, and a loop of them costs five times as much.
const charCodeAt = String.prototype.charCodeAt;

/**
 * Compares two secret hashes in constant time: every character is looked at, whatever differs.
 * (A loop over the strings, rather than `timingSafeEqual`, spares two Buffers per request.)
 */
export function hashesMatch(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= charCodeAt.call(a, i) ^ charCodeAt.call(b, i);
  return difference === 0;
}

// crypto.hash() (Node 20.12+) hashes in one call, without a Hash object per request.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha256Hex: (text: string) => string = oneShotHash
  ? (text) => oneShotHash('sha256', text, 'hex')
  : (text) => createHash('sha256').update(text).digest('hex');

function base36(value: number, width: number): string {
  return value.toString(36).padStart(width, '0');
}

/** The number written in base62 at `text[from..]`: the checksum, whose digits `BODY` has checked. */
function base62Value(text: string, from: number): number {
  let value = 0;
  for (let i = from; i < text.length; i++) {
    const code = charCodeAt.call(text, i);
    // 0-9, A-Z, a-z, in the order of BASE62.
    value = value * 62 + (code <= 57 ? code - 48 : code <= 90 ? code - 55 : code - 61);
  }
  return value;
}

/** The 6-character checksum of everything before it (CRC32, base62). */
export function checksum(body: string): string {
  let crc = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[crc % 62] + out;
    crc = Math.floor(crc / 62);
  }
  return out;
}
