import { randomBytes } from 'node:crypto';
import type {
  AttemptReservation,
  FailureCount,
  RevokedToken,
  StoredToken,
  TokenStore,
  VerifyOptions,
} from '../lib/store';
import { hashesMatch, tokenIdOf } from '../lib/token-format';
import type { RedisTokenStoreClient } from './redis-client';
import {
  FAIL_ATTEMPT,
  LIMIT,
  type LuaScript,
  READ,
  RECORD_FAILURE,
  RESERVE_ATTEMPT,
  REVOKE,
  TOUCH,
} from './redis-scripts';

export interface RedisTokenStoreOptions {
  /** Prefix of every key. Default `pat:`, the same as the CLI's and `personalTokenAuth()`'s. */
  prefix?: string;
  /** The clock used for hard limits and TTLs (ms since the epoch). */
  now?: () => number;
}

export type { RedisTokenStoreClient } from './redis-client';

export const DEFAULT_KEY_PREFIX = 'pat:';

// How many of a user's oldest index entries each issue checks for expiry.
const PRUNE_SAMPLE = 16;
// How long a revoked token's tombstone may stay (less if the token would have expired sooner).
const TOMBSTONE_LIFE = 7 * 24 * 3_600_000;

/**
 * Tokens in Redis, through an ioredis `Redis` or `Cluster` that the app built (and configured with
 * the timeouts and reconnection it wants); the store never opens connections itself.
 *
 * Keys: `<prefix>t:{<id>}` is one token (a string whose TTL is its expiry), `<prefix>u:{<login>}` a
 * sorted set of the user's token ids by creation time, for `list` and `revokeAll`, and
 * `<prefix>f:{<ip>}` a failure counter for throttling, with `<prefix>a:{<ip>}` the attempts that IP
 * has in flight. The braces are Cluster hash tags, and every command or script touches a single
 * key or keys of one tag, so each runs on whichever node holds it.
 *
 * A check is one native command: `GETEX … PX min(window, hard limit - now)` for a sliding token
 * (its terms come with the token), `GET` for one with only a hard limit. `lastUsedAt` costs a second
 * command only when it must be written: at most once per touch interval for a token with only a
 * hard limit; for a sliding one, whose uses follow from its TTL, only in its first seconds or while
 * its cap binds.
 */
export class RedisTokenStore implements TokenStore {
  readonly client: RedisTokenStoreClient;
  readonly prefix: string;
  readonly #now: () => number;

  constructor(client: RedisTokenStoreClient, options: RedisTokenStoreOptions = {}) {
    if (!client || typeof client.evalsha !== 'function') {
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
    const created = await this.client.set(this.tokenKey(token.id), encode(token), 'PX', ttl, 'NX');
    if (created !== 'OK') return false;
    // The index lives in the user's slot, not the token's, so it cannot share a command: a crash
    // between the two leaves a token missing from `list` until it expires, never the reverse.
    await this.client.zadd(this.userKey(token.user), String(token.createdAt), token.id);
    await this.#prune(token.user);
    return true;
  }

  verify(id: string, secretHash: string, options: VerifyOptions): Promise<StoredToken | RevokedToken | null> {
    // Terms come only from a token the service has parsed, whose id it checked against the hash;
    // other callers get the check here, so that a public id alone can never refresh a token.
    if (options.terms === undefined && tokenIdOf(secretHash) !== id) return Promise.resolve(null);
    const now = this.#now();
    const key = this.tokenKey(id);
    const terms = options.terms;
    // Not async, and one `then`: this is every request's path, and each promise layer costs.
    if (terms?.autoRefresh) {
      const hard = terms.hardExpiresAt ?? Number.POSITIVE_INFINITY;
      if (hard <= now) return Promise.resolve(null);
      const ttl = Math.min(terms.autoRefresh, hard - now);
      return this.client
        .getex(key, 'PX', ttl)
        .then((value) => this.#checked(id, key, secretHash, value, now, now + ttl, options));
    }
    return this.client
      .get(key)
      .then((value) => this.#checked(id, key, secretHash, value, now, null, options));
  }

  /**
   * What a check read: the record (its expiry set from what the read did to the TTL), a tombstone or
   * null. A promise only when a second command is due: a TTL to correct, or a use to write down;
   * the hashes are compared only then (the service compares them on every check, and decides).
   */
  #checked(
    id: string,
    key: string,
    secretHash: string,
    value: string | null,
    now: number,
    refreshedTo: number | null,
    options: VerifyOptions,
  ): StoredToken | RevokedToken | null | Promise<StoredToken> {
    const found = decode(id, value, refreshedTo ?? now);
    if (found === null || 'revokedAt' in found) return found;
    if (found.hardExpiresAt !== null && found.hardExpiresAt <= now) return null;
    if (found.autoRefresh === null) {
      // Only a hard limit: the key expires exactly then.
      found.expiresAt = found.hardExpiresAt ?? now;
      return this.#recordUse(found, key, secretHash, now, options);
    }
    // The terms in the token were right unless the hard limit was brought forward since (rotation
    // with an overlap), or the caller gave none: then set the TTL here, a second command.
    const ttl = Math.min(found.autoRefresh, (found.hardExpiresAt ?? Number.POSITIVE_INFINITY) - now);
    if (refreshedTo === null || now + ttl < refreshedTo) {
      // Only for the secret's holder. (The caller compares the hashes too: it decides.)
      if (!hashesMatch(found.secretHash, secretHash)) return found;
      return this.client.pexpire(key, Math.max(1, ttl)).then(() => {
        found.expiresAt = now + ttl;
        return this.#recordUse(found, key, secretHash, now, options);
      });
    }
    found.expiresAt = refreshedTo;
    return this.#recordUse(found, key, secretHash, now, options);
  }

  #recordUse(
    found: StoredToken,
    key: string,
    secretHash: string,
    now: number,
    options: VerifyOptions,
  ): StoredToken | Promise<StoredToken> {
    if (!mustRecordUse(found, now, options)) {
      // A sliding token's use shows in its TTL even when not written down.
      if (found.autoRefresh !== null) found.lastUsedAt = now;
      return found;
    }
    if (!hashesMatch(found.secretHash, secretHash)) return found;
    const ip = options.ip;
    return this.#run(TOUCH, key, [found.secretHash, String(now), ip ?? '']).then(() => {
      found.lastUsedAt = now;
      if (ip) found.lastUsedIp = ip;
      return found;
    });
  }

  async get(id: string): Promise<StoredToken | null> {
    const now = this.#now();
    const reply = (await this.#run(READ, this.tokenKey(id), [])) as [string, number] | null;
    if (!reply) return null;
    const [value, pttl] = reply;
    const found = decode(id, value, pttl > 0 ? now + pttl : now);
    if (!found || 'revokedAt' in found) return null;
    return sliding(found) ? { ...found, lastUsedAt: lastUseOf(found) } : found;
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
    const reply = (await this.#run(REVOKE, this.tokenKey(id), [String(now), String(TOMBSTONE_LIFE)])) as
      | [string, number]
      | null;
    if (!reply) return null;
    const found = decode(id, reply[0], now + Math.max(0, reply[1]));
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
  async #run(script: LuaScript, key: string | string[], args: string[]): Promise<unknown> {
    const keys = typeof key === 'string' ? [key] : key;
    try {
      return await this.client.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.client.eval(script.lua, keys.length, ...keys, ...args);
    }
  }

  /** A client's reserved attempts, in the slot of its failure counter (the same hash tag). */
  attemptsKey(key: string): string {
    return `${this.prefix}a:{${key}}`;
  }

  // Attempt ids: unique across app instances without a random number per request.
  readonly #attemptPrefix = randomBytes(6).toString('hex');
  #lastAttempt = 0;

  async reserveAttempt(key: string, limit: number, window: number): Promise<AttemptReservation> {
    const now = this.#now();
    const attempt = `${this.#attemptPrefix}.${++this.#lastAttempt}`;
    const [reserved, failures, pending, pttl] = (await this.#run(
      RESERVE_ATTEMPT,
      [this.failureKey(key), this.attemptsKey(key)],
      [String(now), String(limit), String(window), attempt],
    )) as [number, number, number, number];
    return { attempt: reserved === 1 ? attempt : null, failures, pending, resetAt: now + Math.max(0, pttl) };
  }

  async releaseAttempt(key: string, attempt: string): Promise<void> {
    await this.client.zrem(this.attemptsKey(key), attempt);
  }

  async failAttempt(key: string, attempt: string, window: number): Promise<FailureCount> {
    const [count, pttl] = (await this.#run(
      FAIL_ATTEMPT,
      [this.failureKey(key), this.attemptsKey(key)],
      [attempt, String(window)],
    )) as [number, number];
    return { count, resetAt: this.#now() + pttl };
  }
}

/**
 * How soon after its creation a sliding token's use cannot be read off its TTL. Creation and a first
 * use then set nearly the same expiry: they differ only by the time between them, which the latency
 * to Redis and the clock differences between app servers blur.
 */
const TTL_RESOLUTION = 2000;

/**
 * Whether a use must be written down. A sliding token's uses can be read off its TTL (expiry minus
 * window), so they are not written, unless its cap binds (its expiry then no longer says when it was
 * used), IPs are recorded, or it is too young to tell; any other token at most once per touch interval.
 */
function mustRecordUse(token: StoredToken, now: number, options: VerifyOptions): boolean {
  const readable =
    sliding(token) &&
    token.expiresAt === now + token.autoRefresh! &&
    !options.ip &&
    now - token.createdAt >= TTL_RESOLUTION;
  if (readable) return false;
  return token.lastUsedAt === null || now - token.lastUsedAt >= options.touchInterval;
}

function sliding(token: StoredToken): boolean {
  return token.autoRefresh !== null;
}

/** A sliding token's last use: each use sets its expiry to use + window, while the cap does not bind. */
function lastUseOf(token: StoredToken): number | null {
  const slidingExpiry = token.hardExpiresAt === null || token.expiresAt < token.hardExpiresAt;
  const read = token.expiresAt - token.autoRefresh!;
  if (!slidingExpiry || read < token.createdAt + TTL_RESOLUTION) return token.lastUsedAt;
  return token.lastUsedAt === null ? read : Math.max(token.lastUsedAt, read);
}

function encode(token: StoredToken): string {
  return [
    'T',
    token.secretHash,
    token.user,
    token.scopes.join(' '),
    token.createdAt,
    token.hardExpiresAt ?? '',
    token.autoRefresh ?? '',
    token.lastUsedAt ?? '',
    token.lastUsedIp ?? '',
    token.label ?? '',
  ].join('\t');
}

const optionalNumber = (text: string | undefined) => (text ? Number(text) : null);

/** Reads a stored value; `expiresAt` is what the caller knows of the key's expiry. */
function decode(id: string, value: string | null, expiresAt: number): StoredToken | RevokedToken | null {
  if (value === null) return null;
  const fields = value.split('\t');
  if (fields[0] === 'R') return { id, user: fields[1]!, revokedAt: Number(fields[2]) };
  if (fields[0] !== 'T' || fields.length !== 10) return null;
  const hardExpiresAt = optionalNumber(fields[5]);
  return {
    id,
    secretHash: fields[1]!,
    user: fields[2]!,
    scopes: fields[3] ? fields[3].split(' ') : [],
    createdAt: Number(fields[4]),
    // Never past the hard limit, whatever the clocks say.
    expiresAt: Math.min(expiresAt, hardExpiresAt ?? Number.POSITIVE_INFINITY),
    hardExpiresAt,
    autoRefresh: optionalNumber(fields[6]),
    lastUsedAt: optionalNumber(fields[7]),
    lastUsedIp: fields[8] || null,
    label: fields[9] || null,
  };
}
