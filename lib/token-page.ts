import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Pages of a user's tokens (`listPage`): their order, their cursors and their sizes, the same for
 * every store, so that a cursor from one page of one store means the same to any other.
 *
 * Order: newest first (`createdAt` descending), then by id descending, as a Redis sorted set scored
 * by creation time lists its members in reverse. A cursor is `<createdAt>:<id>` of the last token of
 * a page (whether or not that token still exists): the next page starts right after that position.
 *
 * A page filtered for a caller who may see only some of the tokens (`ListPageOptions.visible`) fills
 * up with tokens it may see, and its cursor names only such a token: it must not tell where the others
 * are. Only when it reads `MAX_PAGE_SIZE` tokens without one it may see is its cursor sealed instead.
 */

/** Tokens per page when the caller names no size. */
export const DEFAULT_PAGE_SIZE = 100;
/** The largest page a caller may ask for: one page is one store call under one deadline. */
export const MAX_PAGE_SIZE = 1000;

export interface PagePosition {
  createdAt: number;
  id: string;
}

const CURSOR = /^(\d{1,15}):([0-9a-f]{16})$/;

export function formatPageCursor(position: PagePosition): string {
  return `${position.createdAt}:${position.id}`;
}

/** The position a cursor names, or null for anything that is not a cursor (it comes from clients). */
export function parsePageCursor(text: unknown): PagePosition | null {
  if (typeof text !== 'string') return null;
  const match = CURSOR.exec(text);
  return match ? { createdAt: Number(match[1]), id: match[2]! } : null;
}

/** Negative if `a` comes before `b` in list order. */
export function comparePositions(a: PagePosition, b: PagePosition): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
}

/**
 * Tokens per store call when the service walks all of a user's tokens (`list`, `revokeAll`): few
 * enough that each call ends well within its deadline on a loaded server.
 */
export const BATCH_SIZE = 250;

/**
 * Store calls of `BATCH_SIZE` a filtered page makes at most: it reads no more tokens than the largest
 * page anyone may ask for, however few of them the caller may see.
 */
export const MAX_FILTERED_BATCHES = MAX_PAGE_SIZE / BATCH_SIZE;

const IV_BYTES = 12;
const TAG_BYTES = 16;
// 'createdAt:id' is at most 32 characters, so a sealed cursor is at most this long in base64url.
const SEALED = /^[A-Za-z0-9_-]{40,90}$/;

/**
 * Cursors that name a position without showing it: AES-256-GCM under a key made for this process,
 * so a client can neither read nor forge one. They hold only until the process ends, and another
 * instance of the app refuses them (`InvalidPageError`): they appear only where a plain cursor would
 * tell a filtered caller where tokens it may not see are (see above).
 */
export class SealedPageCursors {
  readonly #key = randomBytes(32);

  seal(cursor: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const sealed = Buffer.concat([iv, cipher.update(cursor, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return sealed.toString('base64url');
  }

  /** The plain cursor a sealed one holds, or null for anything this process did not seal. */
  open(text: string): string | null {
    if (!SEALED.test(text)) return null;
    const sealed = Buffer.from(text, 'base64url');
    if (sealed.length <= IV_BYTES + TAG_BYTES) return null;
    const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(0, IV_BYTES));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      const cursor = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
      return parsePageCursor(cursor) ? cursor : null;
    } catch {
      return null; // not sealed with this key, or altered
    }
  }
}
