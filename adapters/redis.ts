import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { FailureCount, RevokedToken, StoredToken, TokenStore, VerifyOptions } from '../lib/store';
import { CREATE, LIMIT, type LuaScript, READ, RECORD_FAILURE, REVOKE, VERIFY } from './redis-scripts';

export interface RedisTokenStoreOptions {
  /** Prefix of every key. Default `pat:`, the same as the CLI's and `personalTokenAuth()`'s. */
  prefix?: string;
  /** The clock used for hard limits and TTLs (ms since the epoch). */
  now?: () => number;
}

export const DEFAULT_KEY_PREFIX = 'pat:';

// How many of a user's oldest index entries each issue checks for expiry.
const PRUNE_SAMPLE = 16;

// How long a revoked token's tombstone may stay (less if the token would have expired sooner).
const TOMBSTONE_LIFE = 7 * 24 * 3_600_000;

/**
 * Tokens in Redis, through an ioredis `Redis` or `Cluster` that the app built (and configured with
 * the timeouts and reconnection it wants); the store never opens connections itself.
 *
 * Keys: `<prefix>t:{<id>}` is one token (a hash whose TTL is its expiry), `<prefix>u:{<login>}` a
 * sorted set of the user's token ids by creation time, for `list` and `revokeAll`, and
 * `<prefix>f:{<ip>}` a failure counter for throttling. The braces are Cluster hash tags, and every
 * script touches a single key, so each runs on whichever node holds it.
 */
export class RedisTokenStore implements TokenStore {
  readonly client: Redis | Cluster;
  readonly prefix: string;
  readonly #now: () => number;

  constructor(client: Redis | Cluster, options: RedisTokenStoreOptions = {}) {
    if (!client || typeof (client as Redis).evalsha !== 'function') {
      throw new TypeError('RedisTokenStore needs an ioredis Redis or Cluster client as its first argument');
    }
    this.client = client;
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#now = options.now ?? Date.now;
  }

  now(): number {
    return this.#now();
  }

  tokenKey(id: string): string {
    return `${this.prefix}t:{${id}}`;
  }

  userKey(user: string): string {
    return `${this.prefix}u:{${user}}`;
  }

  failureKey(key: string): string {
    return `${this.prefix}f:{${key}}`;
  }

  async create(token: StoredToken): Promise<boolean> {
    const ttl = Math.max(1, token.expiresAt - this.#now());
    const fields = ['h', token.secretHash, 'u', token.user, 'c', String(token.createdAt)];
    if (token.label !== null) fields.push('l', token.label);
    if (token.scopes.length > 0) fields.push('s', token.scopes.join(' '));
    if (token.hardExpiresAt !== null) fields.push('e', String(token.hardExpiresAt));
    if (token.autoRefresh !== null) fields.push('a', String(token.autoRefresh));
    const created = await this.#run(CREATE, this.tokenKey(token.id), [String(ttl), ...fields]);
    if (created !== 1) return false;
    // The index lives in the user's slot, not the token's, so it cannot share the script: a crash
    // between the two leaves a token missing from `list` until it expires, never the reverse.
    await this.client.zadd(this.userKey(token.user), String(token.createdAt), token.id);
    await this.#prune(token.user);
    return true;
  }

  async verify(
    id: string,
    secretHash: string,
    options: VerifyOptions,
  ): Promise<StoredToken | RevokedToken | null> {
    const now = this.#now();
    const reply = await this.#run(VERIFY, this.tokenKey(id), [
      secretHash,
      String(now),
      options.login === undefined ? '' : createHash('sha1').update(options.login).digest('hex'),
      String(options.touchInterval),
      options.ip ?? '',
    ]);
    return decode(id, reply, now);
  }

  async get(id: string): Promise<StoredToken | null> {
    const found = decode(id, await this.#run(READ, this.tokenKey(id), []), this.#now());
    return found && !('revokedAt' in found) ? found : null;
  }

  async listByUser(user: string): Promise<StoredToken[]> {
    const ids = await this.client.zrevrange(this.userKey(user), '0', '-1');
    const tokens = await Promise.all(ids.map((id) => this.get(id)));
    const gone = ids.filter((_, i) => tokens[i] === null);
    if (gone.length > 0) await this.client.zrem(this.userKey(user), ...gone);
    return tokens.filter((token): token is StoredToken => token !== null && token.user === user);
  }

  async delete(id: string): Promise<StoredToken | null> {
    const now = this.#now();
    const found = decode(
      id,
      await this.#run(REVOKE, this.tokenKey(id), [String(now), String(TOMBSTONE_LIFE)]),
      now,
    );
    if (!found || 'revokedAt' in found) return null;
    await this.client.zrem(this.userKey(found.user), id);
    return found;
  }

  async deleteByUser(user: string): Promise<string[]> {
    const ids = await this.client.zrange(this.userKey(user), '0', '-1');
    // One script per token: the keys are in different Cluster slots.
    const revoked = await Promise.all(ids.map((id) => this.delete(id)));
    return revoked.filter((token) => token !== null && token.user === user).map((token) => token!.id);
  }

  async limit(id: string, hardExpiresAt: number): Promise<boolean> {
    return (await this.#run(LIMIT, this.tokenKey(id), [String(this.#now()), String(hardExpiresAt)])) === 1;
  }

  async recordFailure(key: string, window: number): Promise<FailureCount> {
    const [count, pttl] = (await this.#run(RECORD_FAILURE, this.failureKey(key), [String(window)])) as [
      number,
      number,
    ];
    return { count, resetAt: this.#now() + pttl };
  }

  /**
   * Drops ids of expired tokens from the user's index, so it cannot grow without bound. Only the
   * oldest few are checked on each issue (expired tokens are mostly old ones): the cost stays
   * constant however many tokens the user has; `listByUser` checks them all.
   */
  async #prune(user: string): Promise<void> {
    const ids = await this.client.zrange(this.userKey(user), '0', String(PRUNE_SAMPLE - 1));
    const exists = await Promise.all(ids.map((id) => this.client.exists(this.tokenKey(id))));
    const gone = ids.filter((_, i) => exists[i] === 0);
    if (gone.length > 0) await this.client.zrem(this.userKey(user), ...gone);
  }

  /** EVALSHA, falling back to EVAL when the server does not know the script yet (new or restarted node). */
  async #run(script: LuaScript, key: string, args: string[]): Promise<unknown> {
    try {
      return await this.client.evalsha(script.sha, 1, key, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.client.eval(script.lua, 1, key, ...args);
    }
  }
}

type Field = string | null;
type Reply = [Field, Field, Field, Field, Field, Field, Field, Field, Field, Field, number];

function decode(id: string, reply: unknown, now: number): StoredToken | RevokedToken | null {
  if (!Array.isArray(reply)) return null;
  const [h, u, l, s, c, e, a, lu, ip, r, pttl] = reply as Reply;
  if (u === null) return null;
  if (r !== null) return { id, user: u, revokedAt: Number(r) };
  if (h === null) return null;
  return {
    id,
    user: u,
    secretHash: h,
    label: l,
    scopes: s ? s.split(' ') : [],
    createdAt: Number(c),
    // now + PTTL is exact to the millisecond at best; it never goes past the hard limit. A key always
    // has a TTL (every token expires); -1/-2 would mean someone else wrote it.
    expiresAt: Math.min(pttl > 0 ? now + pttl : now, e === null ? Number.POSITIVE_INFINITY : Number(e)),
    hardExpiresAt: e === null ? null : Number(e),
    autoRefresh: a === null ? null : Number(a),
    lastUsedAt: lu === null ? null : Number(lu),
    lastUsedIp: ip,
  };
}
