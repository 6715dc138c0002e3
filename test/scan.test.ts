// The token scanner (lib/manage/token-scan.ts): what counts as a finding, where it is, and that a stream cut
// into chunks anywhere finds each token exactly once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { scanForTokens, TokenScanner } from '../lib/manage/token-scan';
import { checksum, formatToken, generateToken, tokenLength } from '../lib/token-format';

const PREFIX = 'pat_';
const newToken = (prefix = PREFIX) => generateToken(prefix, { autoRefresh: null, hardExpiresAt: null });

/** Any token the format allows: any secret and terms, as `formatToken` builds them. */
const anyToken = fc
  .record({
    secret: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    autoRefresh: fc.option(fc.integer({ min: 1, max: 36 ** 8 - 1 }), { nil: null }),
    hardExpiresAt: fc.option(fc.integer({ min: 1, max: 36 ** 9 - 1 }), { nil: null }),
  })
  .map(({ secret, autoRefresh, hardExpiresAt }) =>
    formatToken(PREFIX, Buffer.from(secret).toString('base64url'), { autoRefresh, hardExpiresAt }),
  );

/** The token with the character at `at` (after the prefix) replaced by another of the same class. */
function changedAt(token: string, at: number, pick: number): string {
  const index = PREFIX.length + (at % (token.length - PREFIX.length));
  const alphabet = '0123456789abcdefABCDEF_-xyzXYZ';
  const choices = [...alphabet].filter((char) => char !== token[index]);
  return token.slice(0, index) + choices[pick % choices.length] + token.slice(index + 1);
}

describe('scanForTokens', () => {
  test('finds a token in text, JSON, a minified bundle, a URL, glued to word characters', () => {
    const { token, id } = newToken();
    const texts = [
      `export TOKEN=${token}\n`,
      JSON.stringify({ auth: { token } }),
      `!function(){var a="${token}";fetch(u,{headers:{Authorization:"Bearer "+a}})}();`,
      `https://example.com/hook?access_token=${encodeURIComponent(token)}&x=1`,
      `xyz${token}abc`,
      `AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA${token}AAAAAAAAAAAAAAAAAAAAAAAA`,
      `bin\u0000ary\u0000${token}\u0000\u00ff`,
    ];
    for (const text of texts) {
      const found = scanForTokens(text, PREFIX);
      assert.deepEqual(
        found.map((finding) => [finding.tokenId, finding.text]),
        [[id, token]],
        text.slice(0, 40),
      );
    }
  });

  test('line and column: 1-based, columns in UTF-16 units of the line read as UTF-8', () => {
    const { token } = newToken();
    const text = `first line\nhé 漢字 😀 = ${token}\n\n  ${token}`;
    const found = scanForTokens(text, PREFIX);
    assert.deepEqual(
      found.map(({ line, column }) => [line, column]),
      [
        [2, 'hé 漢字 😀 = '.length + 1],
        [4, 3],
      ],
    );
  });

  test('a look-alike with one character changed is not a finding', () => {
    fc.assert(
      fc.property(anyToken, fc.nat(), fc.nat(), ({ token }, at, pick) => {
        assert.deepEqual(scanForTokens(` ${changedAt(token, at, pick)} `, PREFIX), []);
      }),
      { numRuns: 2000 },
    );
  });

  test('a made-up token with a right checksum but an id that is not its hash is not a finding', () => {
    const { token } = newToken();
    const other = newToken().token;
    // Another token's id with this one's secret and terms, and a checksum made to match.
    const body =
      PREFIX + other.slice(PREFIX.length, PREFIX.length + 16) + token.slice(PREFIX.length + 16, -6);
    assert.deepEqual(scanForTokens(body + checksum(body), PREFIX), []);
  });

  test('a token cut across two lines, truncated or with another prefix is not a finding', () => {
    const { token } = newToken();
    assert.deepEqual(scanForTokens(`${token.slice(0, 40)}\n${token.slice(40)}`, PREFIX), []);
    assert.deepEqual(scanForTokens(token.slice(0, -1), PREFIX), []);
    assert.deepEqual(scanForTokens(newToken('ghx_').token, PREFIX), []);
    assert.equal(scanForTokens(newToken('ghx_').token, 'ghx_').length, 1);
  });

  test('every token of many in one text, in order, each once', () => {
    const tokens = Array.from({ length: 50 }, () => newToken());
    const text = tokens.map(({ token }, i) => `${'x'.repeat(i)}${token}${i % 2 === 0 ? '\n' : ''}`).join('');
    assert.deepEqual(
      scanForTokens(text, PREFIX).map((finding) => finding.tokenId),
      tokens.map(({ id }) => id),
    );
  });

  test('refuses a prefix that is not one', () => {
    assert.throws(() => new TokenScanner('pat_ '), TypeError);
    assert.throws(() => new TokenScanner(''), TypeError);
  });
});

describe('TokenScanner over chunks', () => {
  test('a token at any offset of a stream cut anywhere is found exactly once, at its place', () => {
    const filler = fc.string({
      unit: fc.constantFrom(
        'a',
        'p',
        'pa',
        'pat',
        'pat_',
        '0',
        'f',
        '\n',
        'é',
        '漢',
        '😀',
        '"',
        ' ',
        '\u0000',
      ),
      maxLength: 300,
    });
    fc.assert(
      fc.property(
        anyToken,
        filler,
        filler,
        fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 20 }),
        ({ token, id }, before, after, cuts) => {
          const bytes = Buffer.from(before + token + after, 'utf8');
          const scanner = new TokenScanner(PREFIX);
          const found = [];
          let at = 0;
          for (let cut = 0; at < bytes.length; cut++) {
            const size = cuts[cut % cuts.length]!;
            found.push(...scanner.push(bytes.subarray(at, at + size)));
            at += size;
          }
          const lineStart = before.lastIndexOf('\n') + 1;
          assert.deepEqual(
            found.map(({ line, column, tokenId, text }) => ({ line, column, tokenId, text })),
            [
              {
                line: before.split('\n').length,
                column: before.length - lineStart + 1,
                tokenId: id,
                text: token,
              },
            ],
          );
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('a chunk reused by the caller after push does not change what is found', () => {
    const { token, id } = newToken();
    const bytes = Buffer.from(`lead ${token} trail`);
    const scanner = new TokenScanner(PREFIX);
    const chunk = Buffer.alloc(7);
    const found = [];
    for (let at = 0; at < bytes.length; at += 7) {
      const size = bytes.copy(chunk, 0, at, at + 7);
      found.push(...scanner.push(chunk.subarray(0, size)));
      chunk.fill(0x70); // 'p': garbage that looks like the prefix's start
    }
    assert.deepEqual(
      found.map((finding) => finding.tokenId),
      [id],
    );
    assert.equal(tokenLength(PREFIX), token.length);
  });
});
