import type {
  AttemptReservation,
  FailureCount,
  RevokedToken,
  StoredToken,
  TokenStore,
  VerifyOptions,
} from '../lib/store';
import { hashesMatch } from '../lib/token-format';

export interface MemoryTokenStoreOptions {
  /** The clock (ms since the epoch). Inject one in tests to move time without sleeping. */
  now?: () => number;
}

// As the Redis store: a revoked token's tombstone lives at most this long, or the token's remaining life.
const TOMBSTONE_LIFE = 7 * 24 * 3_600_000;

interface Tombstone extends RevokedToken {
  until: number;
}

/**
 * Tokens in a Map, with the same semantics as the Redis store: for tests, and for apps that run as a
 * single process without Redis (the example app's default). Nothing survives a restart.
 */
export class MemoryTokenStore implements TokenStore {
  readonly #tokens = new Map<string, StoredToken>();
  readonly #tombstones = new Map<string, Tombstone>();
  readonly #failures = new Map<string, FailureCount>();
  readonly #now: () => number;
  // Expired entries are dropped when touched; this sweep keeps never-touched ones from piling up.
  #sweepAt = 1024;

  constructor(options: MemoryTokenStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  now(): number {
    return this.#now();
  }

  async create(token: StoredToken): Promise<boolean> {
    if (this.#live(token.id) || this.#tombstone(token.id)) return false;
    this.#tokens.set(token.id, structuredClone(token));
    if (this.#tokens.size + this.#tombstones.size + this.#failures.size >= this.#sweepAt) this.#sweep();
    return true;
  }

  async verify(
    id: string,
    secretHash: string,
    options: VerifyOptions,
  ): Promise<StoredToken | RevokedToken | null> {
    const token = this.#live(id);
    if (!token) {
      const tombstone = this.#tombstone(id);
      return tombstone ? { id, user: tombstone.user, revokedAt: tombstone.revokedAt } : null;
    }
    if (
      hashesMatch(token.secretHash, secretHash) &&
      (options.login === undefined || options.login === token.user)
    ) {
      const now = this.#now();
      if (token.autoRefresh !== null) {
        token.expiresAt = Math.min(now + token.autoRefresh, token.hardExpiresAt ?? Number.POSITIVE_INFINITY);
      }
      if (token.lastUsedAt === null || now - token.lastUsedAt >= options.touchInterval) {
        token.lastUsedAt = now;
        if (options.ip) token.lastUsedIp = options.ip;
      }
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

  async delete(id: string): Promise<StoredToken | null> {
    const token = this.#live(id);
    if (!token) return null;
    this.#tokens.delete(id);
    const now = this.#now();
    this.#tombstones.set(id, {
      id,
      user: token.user,
      revokedAt: now,
      until: Math.min(token.expiresAt, now + TOMBSTONE_LIFE),
    });
    return structuredClone(token);
  }

  async deleteByUser(user: string): Promise<string[]> {
    const tokens = await this.listByUser(user);
    for (const token of tokens) await this.delete(token.id);
    return tokens.map((token) => token.id);
  }

  async limit(id: string, hardExpiresAt: number): Promise<boolean> {
    const token = this.#live(id);
    if (!token) return false;
    token.hardExpiresAt = Math.min(hardExpiresAt, token.hardExpiresAt ?? Number.POSITIVE_INFINITY);
    token.expiresAt = Math.min(token.expiresAt, token.hardExpiresAt);
    return true;
  }

  async recordFailure(key: string, window: number): Promise<FailureCount> {
    const now = this.#now();
    const current = this.#failures.get(key);
    const next =
      current && current.resetAt > now
        ? { count: current.count + 1, resetAt: current.resetAt }
        : { count: 1, resetAt: now + window };
    this.#failures.set(key, next);
    return { ...next };
  }

  #live(id: string): StoredToken | undefined {
    const token = this.#tokens.get(id);
    if (token && token.expiresAt <= this.#now()) {
      this.#tokens.delete(id);
      return undefined;
    }
    return token;
  }

  #tombstone(id: string): Tombstone | undefined {
    const tombstone = this.#tombstones.get(id);
    if (tombstone && tombstone.until <= this.#now()) {
      this.#tombstones.delete(id);
      return undefined;
    }
    return tombstone;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, token] of this.#tokens) if (token.expiresAt <= now) this.#tokens.delete(id);
    for (const [id, tombstone] of this.#tombstones) if (tombstone.until <= now) this.#tombstones.delete(id);
    for (const [key, failure] of this.#failures) if (failure.resetAt <= now) this.#failures.delete(key);
    this.#sweepAt = Math.max(1024, (this.#tokens.size + this.#tombstones.size + this.#failures.size) * 2);
  }

  // Attempts reserved and not yet released: key → attempt → when it lapses. A key's entry goes
  // with its last attempt, so this holds no more than the requests in flight.
  readonly #attempts = new Map<string, Map<string, number>>();
  #lastAttempt = 0;

  async reserveAttempt(key: string, limit: number, window: number): Promise<AttemptReservation> {
    const now = this.#now();
    const { count: failures, resetAt } = this.#failuresOf(key, now);
    const reserved = this.#attempts.get(key) ?? new Map<string, number>();
    for (const [attempt, lapsesAt] of reserved) if (lapsesAt <= now) reserved.delete(attempt);
    if (failures + reserved.size >= limit) {
      if (reserved.size === 0) this.#attempts.delete(key);
      return { attempt: null, failures, pending: reserved.size, resetAt };
    }
    const attempt = String(++this.#lastAttempt);
    reserved.set(attempt, now + window);
    this.#attempts.set(key, reserved);
    return { attempt, failures, pending: reserved.size, resetAt };
  }

  async releaseAttempt(key: string, attempt: string): Promise<void> {
    const reserved = this.#attempts.get(key);
    reserved?.delete(attempt);
    if (reserved?.size === 0) this.#attempts.delete(key);
  }

  async failAttempt(key: string, attempt: string, window: number): Promise<FailureCount> {
    await this.releaseAttempt(key, attempt);
    return this.recordFailure(key, window);
  }

  #failuresOf(key: string, now: number): FailureCount {
    const current = this.#failures.get(key);
    return current && current.resetAt > now ? { ...current } : { count: 0, resetAt: now };
  }
}
