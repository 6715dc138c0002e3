import type { StoredToken, TokenStore, VerifyOptions } from '../lib/store';
import { hashesMatch } from '../lib/token-format';

export interface MemoryTokenStoreOptions {
  /** The clock (ms since the epoch). Inject one in tests to move time without sleeping. */
  now?: () => number;
}

/**
 * Tokens in a Map, with the same semantics as the Redis store: for tests, and for apps that run as a
 * single process without Redis (the example app's default). Nothing survives a restart.
 */
export class MemoryTokenStore implements TokenStore {
  readonly #tokens = new Map<string, StoredToken>();
  readonly #now: () => number;
  // Expired tokens are dropped when touched; this sweep keeps never-touched ones from piling up.
  #sweepAt = 1024;

  constructor(options: MemoryTokenStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  now(): number {
    return this.#now();
  }

  async create(token: StoredToken): Promise<boolean> {
    if (this.#live(token.id)) return false;
    this.#tokens.set(token.id, structuredClone(token));
    if (this.#tokens.size >= this.#sweepAt) this.#sweep();
    return true;
  }

  async verify(id: string, secretHash: string, options: VerifyOptions): Promise<StoredToken | null> {
    const token = this.#live(id);
    if (!token) return null;
    if (
      hashesMatch(token.secretHash, secretHash) &&
      (options.login === undefined || options.login === token.user)
    ) {
      const now = this.#now();
      if (token.autoRefresh !== null) {
        token.expiresAt = Math.min(now + token.autoRefresh, token.hardExpiresAt ?? Number.POSITIVE_INFINITY);
      }
      if (token.lastUsedAt === null || now - token.lastUsedAt >= options.touchInterval)
        token.lastUsedAt = now;
    }
    return structuredClone(token);
  }

  async get(id: string): Promise<StoredToken | null> {
    const token = this.#live(id);
    return token ? structuredClone(token) : null;
  }

  async listByUser(user: string): Promise<StoredToken[]> {
    const now = this.#now();
    const tokens: StoredToken[] = [];
    for (const token of this.#tokens.values()) {
      if (token.user === user && token.expiresAt > now) tokens.push(structuredClone(token));
    }
    return tokens.sort((a, b) => b.createdAt - a.createdAt);
  }

  async delete(id: string): Promise<boolean> {
    const existed = this.#live(id) !== undefined;
    this.#tokens.delete(id);
    return existed;
  }

  async deleteByUser(user: string): Promise<number> {
    const tokens = await this.listByUser(user);
    for (const token of tokens) this.#tokens.delete(token.id);
    return tokens.length;
  }

  #live(id: string): StoredToken | undefined {
    const token = this.#tokens.get(id);
    if (token && token.expiresAt <= this.#now()) {
      this.#tokens.delete(id);
      return undefined;
    }
    return token;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, token] of this.#tokens) if (token.expiresAt <= now) this.#tokens.delete(id);
    this.#sweepAt = Math.max(1024, this.#tokens.size * 2);
  }
}
