import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  assertTokenPrefix,
  checksum,
  formatToken,
  generateToken,
  parseToken,
  tokenIdOf,
} from '../lib/token-format';

const SLIDING = { autoRefresh: 600_000, hardExpiresAt: Date.UTC(2027, 0, 1) };
const HARD_ONLY = { autoRefresh: null, hardExpiresAt: Date.UTC(2027, 0, 1) };

test('a token is prefix + id + 256-bit secret + terms + checksum, URL-safe and without ":"', () => {
  const { token, id, secretHash } = generateToken('pat_', SLIDING);
  assert.match(token, /^pat_[0-9a-f]{16}[A-Za-z0-9_-]{43}[0-9a-z]{17}[0-9A-Za-z]{6}$/);
  assert.equal(Buffer.from(token.slice(20, 63), 'base64url').length, 32, '256 bits of secret');
  assert.equal(encodeURIComponent(token), token);
  assert.ok(!token.includes(':'));
  assert.deepEqual(parseToken(token, 'pat_'), { id, secretHash, ...SLIDING });
  assert.deepEqual(parseToken(generateToken('pat_', HARD_ONLY).token, 'pat_') && HARD_ONLY, HARD_ONLY);
});

test('the id is the first 8 bytes (16 hex digits) of the stored hash, which hashes secret and terms', () => {
  const { token, id, secretHash } = generateToken('pat_', SLIDING);
  assert.equal(tokenIdOf(secretHash), id);
  const tail = token.slice(20, -6);
  assert.equal(createHash('sha256').update(tail).digest('hex'), secretHash);
});

test('tokens are distinct', () => {
  const seen = new Set(Array.from({ length: 2000 }, () => generateToken('pat_', SLIDING).token));
  assert.equal(seen.size, 2000);
});

test('a truncated, mistyped or foreign string is rejected by shape or checksum alone', () => {
  const { token } = generateToken('pat_', SLIDING);
  assert.equal(parseToken(token.slice(0, -1), 'pat_'), 'malformed');
  assert.equal(parseToken(`${token}x`, 'pat_'), 'malformed');
  assert.equal(parseToken(token.replace('pat_', 'ghp_'), 'pat_'), 'malformed');
  assert.equal(parseToken('', 'pat_'), 'malformed');
  // One character changed in the secret: right shape, wrong checksum.
  const i = 30;
  const typo = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
  assert.equal(parseToken(typo, 'pat_'), 'bad_checksum');
  const swapped = token.slice(0, -2) + token.at(-1) + token.at(-2);
  if (swapped !== token) assert.equal(parseToken(swapped, 'pat_'), 'bad_checksum');
});

test('changed terms, or a known id around another secret, are forged: the id no longer matches', () => {
  const { token, id } = generateToken('pat_', SLIDING);
  const secret = token.slice(20, 63);
  // Same secret, a longer window: a valid checksum can be recomputed by anyone, the id cannot.
  const longer = formatToken('pat_', secret, { ...SLIDING, autoRefresh: 10 * 365 * 86_400_000 });
  const withOldId = `pat_${id}${longer.token.slice(20, -6)}`;
  const rechecked = formatToken('pat_', secret, SLIDING).token; // the honest one still parses
  assert.notEqual(parseToken(rechecked, 'pat_'), 'forged');
  // Recompute the checksum around the old id with the new terms: still refused, as forged.
  assert.equal(parseToken(withOldId + checksum(withOldId), 'pat_'), 'forged');
});

test('the prefix is configurable and validated', () => {
  const { token } = generateToken('acme_', SLIDING);
  assert.ok(token.startsWith('acme_'));
  assert.notEqual(parseToken(token, 'acme_'), 'malformed');
  assert.equal(parseToken(token, 'pat_'), 'malformed');
  for (const bad of ['', 'a:b', 'a b', '_x', 'x'.repeat(17), 'é'])
    assert.throws(() => assertTokenPrefix(bad), TypeError);
});
