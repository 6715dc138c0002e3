import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The token text: `<prefix><id><secret><checksum>`, e.g. `pat_` + 16 hex + 43 base64url + 6 base62.
 *
 * - The prefix makes a leaked token recognisable to people and secret scanners.
 * - The id is public: lists, logs and `revoke <id>` use it. Hex, so it never starts with `-` on a
 *   command line.
 * - The secret is 256 bits from `crypto.randomBytes`; only its SHA-256 is ever stored.
 * - The checksum (CRC32 of everything before it, as GitHub's tokens) lets a truncated, mistyped or
 *   random string be rejected without asking the store anything.
 * Every character is URL-safe and none is `:`, so the token is also a valid Basic-auth password.
 */
export const DEFAULT_TOKEN_PREFIX = 'pat_';

const ID_BYTES = 8;
const ID_LENGTH = ID_BYTES * 2;
const SECRET_BYTES = 32;
const SECRET_LENGTH = 43; // base64url of 32 bytes, no padding
const CHECKSUM_LENGTH = 6; // base62 of a 32-bit CRC
const BODY_LENGTH = ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH;

const PREFIX = /^[A-Za-z][A-Za-z0-9_-]{0,15}$/;
const ID = /^[0-9a-f]{16}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export interface ParsedToken {
  id: string;
  secret: string;
}

/** Throws a TypeError for a prefix that would make tokens ambiguous or unsafe in a URL or a Basic password. */
export function assertTokenPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new TypeError(
      `tokenPrefix must be 1 to 16 characters of letters, digits, "_" or "-", starting with a letter (got ${JSON.stringify(prefix)})`,
    );
  }
}

export function isTokenId(id: string): boolean {
  return typeof id === 'string' && ID.test(id);
}

/** Makes a new token. The caller hands `token` to the user once and stores only `hashSecret(secret)`. */
export function generateToken(prefix: string): { token: string; id: string; secret: string } {
  const id = randomBytes(ID_BYTES).toString('hex');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { token: formatToken(prefix, id, secret), id, secret };
}

/** The token text for an id and a secret, checksum included. */
export function formatToken(prefix: string, id: string, secret: string): string {
  const body = prefix + id + secret;
  return body + checksum(body);
}

/**
 * Splits a token into id and secret, or returns `'malformed'` (wrong shape or prefix) or
 * `'bad_checksum'` (right shape, wrong checksum). Pure and cheap: this is what keeps garbage away
 * from the store.
 */
export function parseToken(token: string, prefix: string): ParsedToken | 'malformed' | 'bad_checksum' {
  if (
    typeof token !== 'string' ||
    token.length !== prefix.length + BODY_LENGTH ||
    !token.startsWith(prefix)
  ) {
    return 'malformed';
  }
  const id = token.slice(prefix.length, prefix.length + ID_LENGTH);
  const secret = token.slice(prefix.length + ID_LENGTH, prefix.length + ID_LENGTH + SECRET_LENGTH);
  if (!ID.test(id) || !SECRET.test(secret)) return 'malformed';
  const body = token.slice(0, token.length - CHECKSUM_LENGTH);
  if (token.slice(-CHECKSUM_LENGTH) !== checksum(body)) return 'bad_checksum';
  return { id, secret };
}

/** SHA-256 of the secret, base64url. A fast hash is right here: the secret has 256 bits of entropy. */
export function hashSecret(secret: string): string {
  return sha256(secret);
}

// crypto.hash() (Node 20.12+) hashes in one call, without a Hash object per request.
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string })
  .hash;
const sha256: (text: string) => string = oneShotHash
  ? (text) => oneShotHash('sha256', text, 'base64url')
  : (text) => createHash('sha256').update(text).digest('base64url');

/** Compares two secret hashes in constant time. */
export function hashesMatch(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function checksum(body: string): string {
  let crc = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[crc % 62] + out;
    crc = Math.floor(crc / 62);
  }
  return out;
}
