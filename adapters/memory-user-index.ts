import type { StoredToken } from '../lib/store';
import { comparePositions, type PagePosition } from '../lib/token-page';

/**
 * One user's tokens in list order, for the memory store's pages: a page costs a binary search and
 * the page itself, not a sort of all the user's tokens. Kept oldest first, so that a new token (the
 * newest, nearly always) is appended; one out of order marks the index for a sort at the next read.
 * Revoked and expired tokens are not removed here: a page skips them, and `compact` drops them.
 */
export class UserTokenIndex {
  #tokens: StoredToken[] = [];
  #sorted = true;
  #dead = 0;

  get size(): number {
    return this.#tokens.length;
  }

  add(token: StoredToken): void {
    const last = this.#tokens.at(-1);
    if (last && comparePositions(token, last) > 0) this.#sorted = false;
    this.#tokens.push(token);
  }

  /**
   * Up to `limit` tokens for which `isLive` holds, in list order (newest first), after `after`
   * (null: from the start), and whether any entry lies beyond the last of them.
   */
  page(
    after: PagePosition | null,
    limit: number,
    isLive: (token: StoredToken) => boolean,
  ): { tokens: StoredToken[]; more: boolean } {
    if (!this.#sorted || this.#dead > this.#tokens.length / 2) this.compact(isLive);
    const tokens = this.#tokens;
    // The first entry (from the end, the newest) that comes after the cursor in list order.
    let index = tokens.length - 1;
    if (after !== null) {
      let low = 0;
      let high = tokens.length; // tokens[high..] come at or before the cursor
      while (low < high) {
        const middle = (low + high) >> 1;
        if (comparePositions(tokens[middle]!, after) > 0) low = middle + 1;
        else high = middle;
      }
      index = low - 1;
    }
    const found: StoredToken[] = [];
    for (; index >= 0 && found.length < limit; index--) {
      const token = tokens[index]!;
      if (isLive(token)) found.push(token);
      else this.#dead++;
    }
    return { tokens: found, more: index >= 0 };
  }

  /** Drops the entries for which `isLive` fails, and puts the others in order. */
  compact(isLive: (token: StoredToken) => boolean): void {
    this.#tokens = this.#tokens.filter(isLive);
    if (!this.#sorted) this.#tokens.sort((a, b) => comparePositions(b, a));
    this.#sorted = true;
    this.#dead = 0;
  }
}
