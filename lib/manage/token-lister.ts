import { parseDuration } from '../duration';
import { InvalidPageError } from '../errors';
import { parseExpiringCursor } from '../expiring-page';
import { isTokenId } from '../token-format';
import {
  BATCH_SIZE,
  DEFAULT_PAGE_SIZE,
  formatPageCursor,
  MAX_FILTERED_BATCHES,
  MAX_PAGE_SIZE,
  parsePageCursor,
  SealedPageCursors,
} from '../token-page';
import type { ManagedStore } from './managed-store';
import { type TokenInfo, type TokenInfoPage, toInfo } from './token-info';

export interface ListPageOptions {
  /** Where the page starts: the `cursor` of the previous page. Default: the first page. */
  cursor?: string | null;
  /** How many tokens at most, 1 to `MAX_PAGE_SIZE` (1000). Default `DEFAULT_PAGE_SIZE` (100). */
  limit?: number;
  /**
   * Only the tokens this accepts, for a caller who may see only some (a scoped token): the page fills
   * up with them, and its cursor tells nothing of the others. Such a page may take a few store calls.
   */
  visible?: (token: TokenInfo) => boolean | Promise<boolean>;
}

export interface ListExpiringOptions {
  /** How far ahead to look: tokens whose hard limit is at most this long from now (`'7d'`, or ms). */
  within: string | number;
  /** Where the page starts: the `cursor` of the previous page. Default: the first page. */
  cursor?: string | null;
  /** How many tokens at most, 1 to `MAX_PAGE_SIZE` (1000). Default `DEFAULT_PAGE_SIZE` (100). */
  limit?: number;
}

/** Reading tokens without using them: one by id, a user's a page at a time, every user's expiring ones. */
export class TokenLister {
  readonly #calls: ManagedStore;
  readonly #sealedCursors = new SealedPageCursors();

  constructor(calls: ManagedStore) {
    this.#calls = calls;
  }

  async inspect(id: string): Promise<TokenInfo | null> {
    if (!isTokenId(id)) return null;
    const stored = await this.#calls.call('get', () => this.#calls.store.get(id));
    return stored ? toInfo(stored) : null;
  }

  async listPage(user: string, options: ListPageOptions = {}): Promise<TokenInfoPage> {
    const given = options.cursor ?? null;
    const cursor =
      given === null || parsePageCursor(given) !== null ? given : this.#sealedCursors.open(String(given));
    if (given !== null && cursor === null) {
      throw new InvalidPageError('cursor must be the cursor of a previous page, as returned');
    }
    const limit = pageLimit(options.limit);
    if (options.visible) return this.#visiblePage(user, cursor, limit, options.visible);
    const page = await this.#calls.call('list', () => this.#calls.store.listPage(user, { cursor, limit }));
    return { tokens: page.tokens.map(toInfo), cursor: page.cursor };
  }

  async listExpiring(options: ListExpiringOptions): Promise<TokenInfoPage> {
    const store = this.#calls.store;
    if (!store.listExpiring)
      throw new TypeError('This token store cannot list expiring tokens (no listExpiring method)');
    const { within: given, cursor = null, limit: size } = options ?? ({} as ListExpiringOptions);
    const within = parseDuration(given);
    if (cursor !== null && parseExpiringCursor(cursor) === null) {
      throw new InvalidPageError('cursor must be the cursor of a previous page, as returned');
    }
    const limit = pageLimit(size);
    const until = Math.min(this.#calls.now() + within, Number.MAX_SAFE_INTEGER);
    const page = await this.#calls.call('listExpiring', () => store.listExpiring!({ until, cursor, limit }));
    return { tokens: page.tokens.map(toInfo), cursor: page.cursor };
  }

  /**
   * A page of only the tokens `visible` accepts. It reads on until it holds `limit` of them and knows
   * whether one more follows, or the list ends, or it has made `MAX_FILTERED_BATCHES` store calls.
   * Its cursor is that of its last token (one the caller may see), null at the end, or, if it found
   * none in all it read, where it stopped, sealed: never a position the caller may not learn.
   */
  async #visiblePage(
    user: string,
    start: string | null,
    limit: number,
    visible: (token: TokenInfo) => boolean | Promise<boolean>,
  ): Promise<TokenInfoPage> {
    const shown: TokenInfo[] = [];
    const after = (token: TokenInfo) =>
      formatPageCursor({ createdAt: token.createdAt.getTime(), id: token.id });
    let cursor = start;
    for (let batch = 0; batch < MAX_FILTERED_BATCHES; batch++) {
      const page = await this.#calls.call('list', () =>
        this.#calls.store.listPage(user, { cursor, limit: BATCH_SIZE }),
      );
      for (const token of page.tokens.map(toInfo)) {
        if (!(await visible(token))) continue;
        if (shown.length === limit) return { tokens: shown, cursor: after(shown.at(-1)!) };
        shown.push(token);
      }
      cursor = page.cursor;
      if (cursor === null) return { tokens: shown, cursor: null };
    }
    const last = shown.at(-1);
    return { tokens: shown, cursor: last ? after(last) : this.#sealedCursors.seal(cursor!) };
  }

  async list(user: string): Promise<TokenInfo[]> {
    const tokens: TokenInfo[] = [];
    let cursor: string | null = null;
    do {
      const page: TokenInfoPage = await this.listPage(user, { cursor, limit: BATCH_SIZE });
      tokens.push(...page.tokens);
      cursor = page.cursor;
    } while (cursor !== null);
    return tokens;
  }
}

/** A page size as asked for, or the default; `InvalidPageError` outside 1 to `MAX_PAGE_SIZE`. */
function pageLimit(limit: number | undefined): number {
  const size = limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new InvalidPageError(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return size;
}
