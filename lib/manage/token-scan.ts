import { isAscii } from 'node:buffer';
import { assertTokenPrefix, parseToken, TOKEN_ID_LENGTH, tokenLength } from '../token-format';

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
 * also across a cut. Between chunks it keeps only the bytes where a token may still start (fewer than
 * a token's length), and never copies a whole chunk: a token across a cut is looked for in those
 * bytes and the start of the next chunk, joined.
 */
export class TokenScanner {
  readonly #prefix: string;
  readonly #needle: Buffer;
  readonly #length: number;
  /** Bytes of earlier chunks where no token start has been looked for yet, nor lines counted. */
  #pending: Buffer = EMPTY;
  /** Line and column (0-based, UTF-16 units) of the first byte of `#pending`. */
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
    const findings: TokenFinding[] = [];
    if (this.#pending.length === 0 || bytes.length < this.#length) {
      // Nothing kept, or a chunk so small that joining it costs nothing.
      const data = this.#pending.length === 0 ? bytes : Buffer.concat([this.#pending, bytes]);
      this.#pending = Buffer.from(data.subarray(this.#scan(data, 0, findings)));
      return findings;
    }
    // The tokens that start in the kept bytes end within the chunk's first token-length bytes: those
    // are joined to them, and the rest of the chunk is searched where it is.
    const junction = Buffer.concat([this.#pending, bytes.subarray(0, this.#length - 1)]);
    const resumeAt = this.#scan(junction, 0, findings) - this.#pending.length;
    this.#pending = Buffer.from(bytes.subarray(this.#scan(bytes, resumeAt, findings)));
    return findings;
  }

  /**
   * Looks for tokens starting in `data[from..]` (lines counted up to `from` already), adds them to
   * `findings`, counts lines up to the first start it could not look at (a token there would end
   * past `data`), and returns that offset.
   */
  #scan(data: Buffer, from: number, findings: TokenFinding[]): number {
    const lastStart = data.length - this.#length;
    let counted = from;
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
    const keepFrom = Math.min(Math.max(from, lastStart + 1), data.length);
    this.#advance(data, counted, keepFrom);
    return keepFrom;
  }

  /** Moves the line and column over `data[from..to]`. */
  #advance(data: Buffer, from: number, to: number): void {
    if (to <= from) return;
    const span = data.subarray(from, to);
    let lineStart = -1;
    for (let at = span.indexOf(NEWLINE); at !== -1; at = span.indexOf(NEWLINE, at + 1)) {
      this.#line++;
      lineStart = at + 1;
    }
    if (lineStart === -1) this.#column += utf16Units(span);
    else this.#column = utf16Units(span.subarray(lineStart));
  }
}

/**
 * How many UTF-16 code units these UTF-8 bytes decode to, counted byte by byte so that a character
 * cut between two chunks counts once: one per byte that starts a character, two for a 4-byte one.
 */
function utf16Units(bytes: Buffer): number {
  if (isAscii(bytes)) return bytes.length;
  let units = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if ((byte & 0xc0) !== 0x80) units += byte >= 0xf0 && byte <= 0xf7 ? 2 : 1;
  }
  return units;
}

/** Whether `data[from..from+length]` is lowercase hex digits, as a token's id. */
function hexRun(data: Buffer, from: number, length: number): boolean {
  for (let i = from; i < from + length; i++) {
    const byte = data[i]!;
    if (!((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66))) return false;
  }
  return true;
}

/** The tokens in one whole text or buffer. */
export function scanForTokens(text: string | Uint8Array, prefix: string): TokenFinding[] {
  return new TokenScanner(prefix).push(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
}
