/**
 * Pages of a user's tokens (`listPage`): their order, their cursors and their sizes, the same for
 * every store, so that a cursor from one page of one store means the same to any other.
 *
 * Order: newest first (`createdAt` descending), then by id descending, as a Redis sorted set scored
 * by creation time lists its members in reverse. A cursor is `<createdAt>:<id>` of the last token of
 * a page (whether or not that token still exists): the next page starts right after that position.
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
