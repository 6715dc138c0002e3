import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTokenPrefix, generateToken, hashSecret, parseToken } from '../lib/token-format';

test('a token is prefix + id + 256-bit secret + checksum, URL-safe and without ":"', () => {
  const { token, id, secret } = generateToken('pat_');
  assert.match(token, /^pat_[0-9a-f]{16}[A-Za-z0-9_-]{43}[0-9A-Za-z]{6}$/);
  assert.equal(Buffer.from(secret, 'base64url').length, 32);
  assert.equal(encodeURIComponent(token), token);
  assert.ok(!token.includes(':'));
  assert.deepEqual(parseToken(token, 'pat_'), { id, secret });
});

test('tokens are distinct', () => {
  const seen = new Set(Array.from({ length: 2000 }, () => generateToken('pat_').token));
  assert.equal(seen.size, 2000);
});

test('a truncated, mistyped or foreign string is rejected by shape or checksum alone', () => {
  const { token } = generateToken('pat_');
  assert.equal(parseToken(token.slice(0, -1), 'pat_'), 'malformed');
  assert.equal(parseToken(`${token}x`, 'pat_'), 'malformed');
  assert.equal(parseToken(token.replace('pat_', 'ghp_'), 'pat_'), 'malformed');
  assert.equal(parseToken('', 'pat_'), 'malformed');
  // One character changed in the secret: right shape, wrong checksum.
  const i = 30;
  const typo = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
  assert.equal(parseToken(typo, 'pat_'), 'bad_checksum');
  // Swapped checksum characters.
  const swapped = token.slice(0, -2) + token.at(-1) + token.at(-2);
  if (swapped !== token) assert.equal(parseToken(swapped, 'pat_'), 'bad_checksum');
});

test('the prefix is configurable and validated', () => {
  const { token } = generateToken('acme_');
  assert.ok(token.startsWith('acme_'));
  assert.notEqual(parseToken(token, 'acme_'), 'malformed');
  assert.equal(parseToken(token, 'pat_'), 'malformed');
  for (const bad of ['', 'a:b', 'a b', '_x', 'x'.repeat(17), 'é'])
    assert.throws(() => assertTokenPrefix(bad), TypeError);
});

test('the stored hash is SHA-256 of the secret and reveals nothing of it', () => {
  const { secret } = generateToken('pat_');
  const hash = hashSecret(secret);
  assert.equal(Buffer.from(hash, 'base64url').length, 32);
  assert.ok(!hash.includes(secret.slice(0, 8)));
});
