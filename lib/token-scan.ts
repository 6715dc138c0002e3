import { assertTokenPrefix, parseToken, TOKEN_ID_LENGTH, tokenLength } from './token-format';

/**
 * Finding tokens in text a program did not expect to hold one: files, logs, bundles, diffs. Pure:
 * it is handed bytes and hands back findings; reading files and git is the CLI's business.
 *
 * A finding is a substring that `parseToken` accepts: the prefix, the body's shape, a CRC32 checksum
 * that matches, and an id that is the hash of the secret and terms. A look-alike with a wrong
 * checksum (or a made-up id) is not a finding, whatever surrounds it. Surroundings do not matter
 * either way: a token glued to other word characters (`xpat_…`, `…abc`, inside a longer base64 run,
 * in a minified bundle) is still a leaked token, and the checksum, not a word boundary, is what
 * keeps random text out (one chance in 2^32 for a CRC, and then the id must also be the hash).
 *
 * Speed: the bytes are searched for the prefix with `Buffer.indexOf` (native), and only where it
 * occurs is a token's worth of text read and parsed. Binary data is scanned like text: a token in a
 * SQLite file, a core dump or an uncompressed archive has leaked as surely as one in a README.
 */

/** One token found, by where it starts. */
export interface TokenFinding {
  /** 1-based line (lines end with `\n`). */
  line: number;
  /** 1-based column, in UTF-16 code units of the line read as UTF-8 (SARIF's default, and editors'). */
  column: number;
  tokenId: string;
  /** The token itself, for revoking it. Never print, log or store it. */
  text: string;
}

const EMPTY = Buffer.alloc(0);
const NEWLINE = 0x0a;

/**
 * Scans a stream of bytes given in chunks of any size, cut anywhere: each token is found exactly once,
 * also across a cut. Keeps only the bytes where a token may still start (fewer than a token's length),
 * plus up to 3 so that it never cuts a UTF-8 character in two when counting columns.
 */
export class TokenScanner {
  readonly #prefix: string;
  readonly #needle: Buffer;
  readonly #length: number;
  /** Bytes kept from earlier chunks; `#pendingAt` is the stream offset of its first byte. */
  #pending: Buffer = EMPTY;
  /** Where `#pending` and the next chunk are joined: allocated once, not once per chunk. */
  #work: Buffer = EMPTY;
  #pendingAt = 0;
  /** Stream offset of the first byte where no token start has been looked for yet. */
  #searchFrom = 0;
  /** Line and column (0-based, UTF-16 units) of the byte at `#pendingAt`. */
  #line = 1;
  #column = 0;

  constructor(prefix: string) {
    assertTokenPrefix(prefix);
    this.#prefix = prefix;
    this.#needle = Buffer.from(prefix, 'latin1');
    this.#length = tokenLength(prefix);
  }

  /** The findings that the bytes so far complete. The chunk may be reused by the caller afterwards. */
  push(chunk: Uint8Array): TokenFinding[] {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const data = this.#pending.length === 0 ? bytes : this.#joined(bytes);
    const base = this.#pendingAt;
    // The last offset where a whole token fits: starts after it wait for the next chunk.
    const lastStart = data.length - this.#length;
    const findings: TokenFinding[] = [];
    let from = this.#searchFrom - base;
    let counted = 0;
    while (from <= lastStart) {
      const at = data.indexOf(this.#needle, from);
      if (at === -1 || at > lastStart) break;
      // Most text with the prefix in it is not a token (`compat_`, `pat_` alone): a look at the id's
      // bytes turns it away before a string is made for the full check.
      if (!hexRun(data, at + this.#needle.length, TOKEN_ID_LENGTH)) {
        from = at + 1;
        continue;
      }
      const text = data.toString('latin1', at, at + this.#length);
      const parsed = parseToken(text, this.#prefix);
      if (typeof parsed === 'string') {
        from = at + 1;
        continue;
      }
      this.#advance(data, counted, at);
      counted = at;
      findings.push({ line: this.#line, column: this.#column + 1, tokenId: parsed.id, text });
      from = at + this.#length;
    }
    this.#searchFrom = base + Math.max(from, lastStart + 1);
    // Keep what may still begin a token, backed off to the start of a UTF-8 character.
    let keepFrom = Math.min(Math.max(this.#searchFrom - base, counted), data.length);
    for (let back = 0; back < 3 && keepFrom > counted && isContinuationByte(data[keepFrom]); back++)
      keepFrom--;
    this.#advance(data, counted, keepFrom);
    this.#pending = Buffer.from(data.subarray(keepFrom));
    this.#pendingAt = base + keepFrom;
    return findings;
  }

  /** The kept bytes and the chunk, end to end, in a buffer reused from call to call. */
  #joined(bytes: Buffer): Buffer {
    const length = this.#pending.length + bytes.length;
    if (this.#work.length < length) this.#work = Buffer.allocUnsafe(Math.max(length, 2 * this.#work.length));
    this.#pending.copy(this.#work, 0);
    bytes.copy(this.#work, this.#pending.length);
    return this.#work.subarray(0, length);
  }

  /** Moves the line and column from `data[from]` to `data[to]`. */
  #advance(data: Buffer, from: number, to: number): void {
    if (to <= from) return;
    let lastNewline = -1;
    for (let at = data.indexOf(NEWLINE, from); at !== -1 && at < to; at = data.indexOf(NEWLINE, at + 1)) {
      this.#line++;
      lastNewline = at;
    }
    if (lastNewline === -1) this.#column += data.toString('utf8', from, to).length;
    else this.#column = data.toString('utf8', lastNewline + 1, to).length;
  }
}

/** Whether `data[from..from+length]` is lowercase hex digits, as a token's id. */
function hexRun(data: Buffer, from: number, length: number): boolean {
  for (let i = from; i < from + length; i++) {
    const byte = data[i]!;
    if (!((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66))) return false;
  }
  return true;
}

function isContinuationByte(byte: number | undefined): boolean {
  return byte !== undefined && (byte & 0xc0) === 0x80;
}

/** The tokens in one whole text or buffer. */
export function scanForTokens(text: string | Uint8Array, prefix: string): TokenFinding[] {
  return new TokenScanner(prefix).push(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
}
