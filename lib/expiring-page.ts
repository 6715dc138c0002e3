import { parsePageCursor } from './token-page';

/**
 * Pages of the tokens whose hard limit is near (`listExpiring`): their order and their cursors, the
 * same for every store, so that a cursor from one store means the same to any other.
 *
 * Order: soonest hard limit first, then by id ascending, as a Redis sorted set scored by hard limit
 * lists its members. A cursor is `<hardExpiresAt>:<id>` of the last token a page looked at (whether
 * or not that token is still live): the next page starts right after that position. It has the form
 * of a `listPage` cursor, a number and an id, and is read by the same rule.
 */
export interface ExpiringPosition {
  hardExpiresAt: number;
  id: string;
}

export function formatExpiringCursor(position: ExpiringPosition): string {
  return `${position.hardExpiresAt}:${position.id}`;
}

/** The position a cursor names, or null for anything that is not a cursor (it comes from clients). */
export function parseExpiringCursor(text: unknown): ExpiringPosition | null {
  const position = parsePageCursor(text);
  return position && { hardExpiresAt: position.createdAt, id: position.id };
}

/** Negative if `a` comes before `b` in expiring order. */
export function compareExpiring(a: ExpiringPosition, b: ExpiringPosition): number {
  if (a.hardExpiresAt !== b.hardExpiresAt) return a.hardExpiresAt - b.hardExpiresAt;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

/**
 * How near a hard limit is "soon" for the self-service list (`expiresSoon` in `GET /tokens`): a week,
 * the length of the shortest notice a weekly look at one's tokens still catches.
 */
export const EXPIRES_SOON = 7 * 24 * 3_600_000;

/** Whether a token's hard limit falls within `EXPIRES_SOON` of `now`. */
export function expiresSoon(token: { hardExpiresAt: Date | null }, now: number): boolean {
  return token.hardExpiresAt !== null && token.hardExpiresAt.getTime() - now <= EXPIRES_SOON;
}
