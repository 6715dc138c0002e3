import { randomBytes } from 'node:crypto';
import type { AttemptStore } from '../lib/attempt-store';
import type { InvalidationChannel } from '../lib/cache-invalidation';
import { useIsDue } from '../lib/check/token-checker';
import {
  compareExpiring,
  type ExpiringPosition,
  formatExpiringCursor,
  parseExpiringCursor,
} from '../lib/expiring-page';
import { checkOptions, optionNames } from '../lib/option-names';
import { DEFAULT_KEY_PREFIX } from '../lib/redis-defaults';
import type {
  AttemptReservation,
  CheckedToken,
  CheckPlan,
  CreateOptions,
  CreateOutcome,
  ExpiringPageRequest,
  FailureCount,
  PageRequest,
  RevokedToken,
  StoredToken,
  TokenPage,
  TokenStore,
} from '../lib/store';
import { tokenIdOf } from '../lib/token-format';
import { formatPageCursor, MAX_PAGE_SIZE, parsePageCursor } from '../lib/token-page';
import type { RedisTokenStoreClient } from './redis-client';
import { canConfirm, type DurableRevocationOptions, RevocationConfirmer } from './redis-durable-revocation';
import { redisInvalidations } from './redis-invalidation';
import { decodeRecentIps, decodeToken, encodeRecentIps, encodeToken, escapeScope } from './redis-record';
import {
  ADD_DESCENDANT,
  CHECK_ELSEWHERE,
  CREATE,
  DESCENDANTS,
  EXPIRING_PAGE,
  EXPIRY_RESERVE,
  FAIL_ATTEMPT,
  LIMIT,
  type LuaScript,
  PAGE,
  READ,
  RESERVE,
  RESERVE_ATTEMPT,
  REVOKE,
  SETTLE,
  TOUCH,
} from './redis-scripts';

export interface RedisTokenStoreOptions {
  /** Prefix of every key. Default `pat:`, the same as the CLI's and `personalTokenAuth()`'s. */
  prefix?: string;
  /** The clock used for hard limits and TTLs (ms since the epoch). */
  now?: () => number;
  /**
   * Whether a revocation (`delete`, each of `revokeAll`'s, a rotation's limit, a hard limit brought
   * forward) resolves only once Redis' replicas have it, so that a failover cannot bring the token
   * back (`WAIT`, and `WAITAOF` on Redis 7.2+ with `appendonly yes`). On by default: it waits for
   * every replica connected to the master, at most 1 s, and costs nothing without replicas. When
   * they do not answer in time, the call rejects with `RevocationNotDurableError`
   * (`ERR_REVOCATION_NOT_DURABLE`): the master has the revocation, a failover may lose it. `false`
   * resolves as soon as the master has it. Issuing and checks never wait.
   */
  durableRevocation?: false | DurableRevocationOptions;
}

const OPTION_NAMES = optionNames<RedisTokenStoreOptions>({
  prefix: true,
  now: true,
  durableRevocation: true,
});

export { DEFAULT_KEY_PREFIX } from '../lib/redis-defaults';
export type { RedisTokenStoreClient } from './redis-client';

// How many of a user's oldest index entries each issue checks for expiry (expired tokens are mostly
// old ones), so that the index cannot grow without bound at a constant cost per issue; `listPage`
// checks those of each page.
const PRUNE_SAMPLE = 16;

// How long a reservation of an issue's id holds its place in the user's index before its record is
// written (see RESERVE). Far longer than any caller waits for an issue (the service's deadline): a
// record written later still is one whose caller gave up, and whose text nobody received.
const RESERVATION_LIFE = 60_000;

/**
 * How many sorted sets the index by hard limit is spread over (`x:{b0}` to `x:{b15}`), a token's
 * chosen by its id (itself a hash): one set would put every issue and revocation on one Cluster slot,
 * one node. A page of `listExpiring` reads each set once, and merges them.
 */
export const EXPIRY_BUCKETS = 16;

/**
 * Tokens in Redis, through an ioredis `Redis` or `Cluster` that the app built (and configured with
 * the timeouts and reconnection it wants); the store never opens connections itself.
 *
 * Keys: `<prefix>t:{<id>}` is one token (a string whose TTL is its expiry), `<prefix>l:{<id>}` the
 * same once its hard limit was brought forward (rotation with an overlap), `<prefix>r:{<id>}` its
 * tombstone once revoked; `<prefix>u:{<login>}` a sorted set of the user's token ids by creation time,
 * for `list`, `revokeAll` and the count of `maxTokensPerUser`, with `<prefix>n:{<login>}` the ids
 * of issues in flight (see RESERVE), and `<prefix>f:{<ip>}` a failure counter for throttling, with
 * `<prefix>a:{<ip>}` the attempts that IP has in flight. `<prefix>x:{b<k>}` (k 0 to 15) are the
 * index by hard limit, for `listExpiring`, with `<prefix>xn:{b<k>}` their issues in flight, kept as
 * the user's index is (see EXPIRING_PAGE). `<prefix>d:{<id>}` is the index of a token's
 * descendants (see ADD_DESCENDANT), for the revocation of its family. The braces are Cluster hash tags: every command or
 * script touches the keys of one token, one user's, one bucket's or one client's, so each runs on
 * whichever node holds them.
 *
 * A check applies the service's plan (see `TokenStore.verify`) in one native command:
 * `GETEX t:{id} PX <plan.expiresAt - plan.now>` for a sliding token, `GET t:{id}` for one with only
 * a hard limit (its key expires at that limit, PXAT). The service's times go to Redis as durations,
 * so that a window means the same on Redis' clock whatever the skew between the clocks. The plan
 * comes from the token's text, and its terms hold for as long as its record is under `t:`: revoking
 * or limiting it moves the record away, so that no use of the text extends a tombstone or a limited
 * token. Only a check that finds nothing under `t:` (a revoked, limited, expired token) pays a second
 * round trip, one small script that applies the plan to the other keys; a use to write down
 * (`plan.touchIfBefore`) costs one more, the TOUCH script.
 */
export class RedisTokenStore<Client extends RedisTokenStoreClient = RedisTokenStoreClient>
  implements TokenStore, AttemptStore
{
  /** The client given, with its own type (an ioredis `Redis` stays a `Redis`). */
  readonly client: Client;
  readonly prefix: string;
  readonly #now: () => number;
  /** How long a revocation may wait for the replicas (see `durableRevocation`), in ms; 0 when off. */
  readonly revocationWait: number;
  readonly #confirmer: RevocationConfirmer | undefined;
  /** Pub/sub on `<prefix>invalidated`, for the token service's cache; undefined for a client without PUBLISH. */
  readonly invalidations: InvalidationChannel | undefined;

  constructor(client: Client, options: RedisTokenStoreOptions = {}) {
    checkOptions('RedisTokenStore', options, OPTION_NAMES);
    if (!client || typeof client.evalsha !== 'function') {
      throw new TypeError('RedisTokenStore needs an ioredis Redis or Cluster client as its first argument');
    }
    this.client = client;
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#now = options.now ?? Date.now;
    // On by default for the clients that can confirm (ioredis'); asked for, it must be one of them.
    const durable = options.durableRevocation ?? (canConfirm(client) ? {} : false);
    this.#confirmer = durable === false ? undefined : new RevocationConfirmer(client, durable);
    this.revocationWait = this.#confirmer?.timeout ?? 0;
    this.invalidations = redisInvalidations(client, `${this.prefix}invalidated`);
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

  /** The user's issues in flight: ids reserved in its index whose records may not exist yet. */
  reservationsKey(user: string): string {
    return `${this.prefix}n:{${user}}`;
  }

  /** A bucket of the index by hard limit (see `EXPIRY_BUCKETS`), and its issues in flight. */
  expiryKeys(bucket: number): [string, string] {
    return [`${this.prefix}x:{b${bucket}}`, `${this.prefix}xn:{b${bucket}}`];
  }

  /** The record of a token whose hard limit was brought forward. */
  limitedKey(id: string): string {
    return `${this.prefix}l:{${id}}`;
  }

  tombstoneKey(id: string): string {
    return `${this.prefix}r:{${id}}`;
  }

  /** The index of a token's descendants (see `listDescendants`). */
  descendantsKey(ancestorId: string): string {
    return `${this.prefix}d:{${ancestorId}}`;
  }

  failureKey(key: string): string {
    return `${this.prefix}f:{${key}}`;
  }

  /**
   * Three steps, as the index lives in the user's slot and the record in the token's, which no one
   * command reaches: RESERVE counts the user's index and puts the id in it, below the limit (see
   * there); CREATE writes the record; SETTLE ends the reservation, and drops the ids found gone
   * meanwhile. A crash between leaves at most an index entry without a record, which counts until its
   * reservation lapses and is dropped later; never a record the index does not count.
   */
  async create(token: StoredToken, options: CreateOptions = {}): Promise<CreateOutcome> {
    const index = [this.userKey(token.user), this.reservationsKey(token.user)];
    const max = options.maxLiveTokens;
    // The index by hard limit reserves its entry alongside the user's index (see EXPIRING_PAGE).
    const expiring = this.#reserveExpiry(token);
    // Awaited below unless the user's index fails first: that failure is the one to report.
    expiring.catch(() => {});
    const settleExpiry = async (created: boolean) => {
      const bucket = await expiring.catch(() => null);
      if (bucket) await this.#run(SETTLE, bucket, [token.id, created ? '0' : '1']).catch(() => {});
    };
    let [reserved, settled] = await this.#reserve(token, max, []);
    if (reserved === 0) {
      // At the limit: without the ids whose tokens are gone (expired, revoked), is there room?
      const gone = await this.#goneAtLimit(token.user, max!);
      if (gone.length === 0) return settleExpiry(false).then(() => 'over-limit');
      [reserved, settled] = await this.#reserve(token, max, gone);
      if (reserved === 0) return settleExpiry(false).then(() => 'over-limit');
    }
    if (reserved === -1) return settleExpiry(false).then(() => 'id-taken');
    // Housekeeping, looked up while the record is written: it must not lose a token made.
    const gone = this.#gone(token.user, settled).catch(() => []);
    const keys = [this.tokenKey(token.id), this.limitedKey(token.id), this.tombstoneKey(token.id)];
    const expiry = expiryOf(this.#now(), token.expiresAt, token.hardExpiresAt);
    // No record without its entry in the index by hard limit: should reserving it have failed, so does the issue.
    await expiring;
    // Nor without its entries in its ancestors' indexes, written first (see `TokenStore.listDescendants`).
    await this.#addToAncestors(token);
    // Should this fail, the reservation stays until it lapses: the record may have been written.
    const created = (await this.#run(CREATE, keys, [encodeToken(token), ...expiry])) === 1;
    // The id was another token's: its entries were never this one's to add.
    if (!created) await this.#removeFromAncestors(token).catch(() => {});
    // The outcome is decided. Should ending the reservation fail, it lapses by itself: no reason to
    // fail an issue that succeeded, whose token the caller must receive.
    const end = [token.id, created ? '0' : '1', ...(await gone)];
    await Promise.all([this.#run(SETTLE, index, end).catch(() => {}), settleExpiry(created)]);
    return created ? 'created' : 'id-taken';
  }

  /** The token's entry in the index of each of its ancestors, each in its ancestor's slot. */
  async #addToAncestors(token: StoredToken): Promise<void> {
    const ancestors = token.ancestorIds ?? [];
    if (ancestors.length === 0) return;
    const args = [
      String(this.#now()),
      token.hardExpiresAt === null ? '+inf' : String(token.hardExpiresAt),
      token.id,
    ];
    await Promise.all(
      ancestors.map((ancestor) => this.#run(ADD_DESCENDANT, [this.descendantsKey(ancestor)], args)),
    );
  }

  async #removeFromAncestors(token: StoredToken): Promise<void> {
    const ancestors = token.ancestorIds ?? [];
    await Promise.all(ancestors.map((ancestor) => this.client.zrem(this.descendantsKey(ancestor), token.id)));
  }

  /**
   * Reads the index a range at a time, each id's record looked up (its entry is dropped once it has
   * none: revoked, expired, or not written yet, see `TokenStore.listDescendants`), until `limit` live
   * ones are found or the index ends.
   */
  async listDescendants(ancestorId: string, limit: number): Promise<string[]> {
    const key = this.descendantsKey(ancestorId);
    const found: string[] = [];
    let start = 0;
    for (;;) {
      const size = Math.min(Math.max(limit - found.length, 1), MAX_PAGE_SIZE);
      const ids = (await this.#run(
        DESCENDANTS,
        [key],
        [String(this.#now()), String(start), String(size)],
      )) as string[];
      const records = await Promise.all(ids.map((id) => this.get(id)));
      const gone = ids.filter((_, i) => records[i] === null);
      if (gone.length > 0) await this.client.zrem(key, ...gone);
      found.push(...ids.filter((_, i) => records[i] !== null));
      if (found.length >= limit || ids.length < size) return found.slice(0, limit);
      start += ids.length - gone.length;
    }
  }

  /**
   * Reserves a token's entry in its bucket of the index by hard limit (EXPIRY_RESERVE); the bucket's
   * keys if this issue put it there (to settle), else null (no hard limit, or the id was there already).
   */
  async #reserveExpiry(token: StoredToken): Promise<string[] | null> {
    if (token.hardExpiresAt === null) return null;
    const bucket = this.expiryKeys(expiryBucketOf(token.id));
    const args = [String(this.#now()), String(RESERVATION_LIFE), token.id, String(token.hardExpiresAt)];
    return (await this.#run(EXPIRY_RESERVE, bucket, args)) === 1 ? bucket : null;
  }

  /** RESERVE (see there): 1 reserved, 0 at the limit, -1 id taken; and settled ids to look up. */
  async #reserve(
    token: StoredToken,
    maxLiveTokens: number | undefined,
    drop: string[],
  ): Promise<[1 | 0 | -1, string[]]> {
    const keys = [this.userKey(token.user), this.reservationsKey(token.user)];
    return (await this.#run(RESERVE, keys, [
      String(this.#now()),
      String(RESERVATION_LIFE),
      maxLiveTokens === undefined ? '' : String(maxLiveTokens),
      token.id,
      String(token.createdAt),
      String(PRUNE_SAMPLE),
      ...drop,
    ])) as [1 | 0 | -1, string[]];
  }

  /**
   * For an issue at the limit: the settled ids in the user's index whose tokens are gone, read page
   * by page (newest first, as `listPage` reads them) until `max` entries are known to count (live
   * tokens, and reserved ids), or the index ends: the cost follows the limit, not how many ids the
   * index holds. Looked up once for all of this user's issues at the limit at the same time: a burst
   * of them costs one lookup, not one each. An issue may use a lookup that started before its own
   * RESERVE: what it found gone stays gone (see RESERVE), and what it found live was live when the
   * burst began.
   */
  #goneAtLimit(user: string, max: number): Promise<string[]> {
    const key = `${max}:${user}`;
    const running = this.#lookups.get(key);
    if (running) return running;
    const lookup = this.#lookUp(user, max).finally(() => this.#lookups.delete(key));
    this.#lookups.set(key, lookup);
    return lookup;
  }

  async #lookUp(user: string, max: number): Promise<string[]> {
    const gone: string[] = [];
    let counted = 0;
    let from = ['', ''];
    for (;;) {
      const size = Math.min(Math.max(max - counted, 1), MAX_PAGE_SIZE);
      const [entries, reserved] = (await this.#run(
        PAGE,
        [this.userKey(user), this.reservationsKey(user)],
        [...from, String(size)],
      )) as [string[], string[]];
      const ids = entries.filter((_, i) => i % 2 === 0);
      const found = await this.#gone(
        user,
        ids.filter((id) => !reserved.includes(id)),
      );
      gone.push(...found);
      counted += ids.length - found.length;
      if (counted >= max || ids.length < size) return gone;
      from = [entries[2 * ids.length - 1]!, ids.at(-1)!];
    }
  }

  readonly #lookups = new Map<string, Promise<string[]>>();

  /** Which of these ids have no live token of this user's (as `listPage` sees them). */
  async #gone(user: string, ids: string[]): Promise<string[]> {
    const found = await Promise.all(ids.map((id) => this.get(id)));
    return ids.filter((_, i) => found[i]?.user !== user);
  }

  verify(id: string, secretHash: string, plan: CheckPlan): Promise<CheckedToken | RevokedToken | null> {
    if (tokenIdOf(secretHash) !== id) return Promise.resolve(null);
    const key = this.tokenKey(id);
    // Not async, and one `then`: this is every request's path, and each promise layer costs.
    const read =
      plan.expiresAt === null
        ? this.client.get(key)
        : this.client.getex(key, 'PX', Math.max(1, plan.expiresAt - plan.now));
    return read.then((value) =>
      value === null
        ? this.#checkElsewhere(id, secretHash, plan)
        : this.#checked(id, key, secretHash, value, plan),
    );
  }

  /**
   * What the one command of a check read under `t:`, the plan's expiry applied (a hard limit binds
   * there already: the token's text carries it). A promise only when a use is to be written down.
   */
  #checked(
    id: string,
    key: string,
    secretHash: string,
    value: string,
    plan: CheckPlan,
  ): CheckedToken | null | Promise<CheckedToken> {
    // Capped by the hard limit; with only a hard limit, the key expires exactly then.
    const found = decodeToken(id, value, plan.expiresAt ?? Number.POSITIVE_INFINITY);
    // Under `t:` there is only ever a record; anything else is not this store's.
    if (found === null || 'revokedAt' in found || found.expiresAt <= plan.now) return null;
    if (!useIsDue(found, plan)) return found;
    // The script compares the hashes (a wrong one writes nothing) and decides again on the record as
    // it is then: a concurrent check may have written meanwhile.
    return this.#run(
      TOUCH,
      [key],
      [
        secretHash,
        String(plan.now),
        String(plan.touchIfBefore),
        ...ipArgs(plan),
        String(plan.newIpIfBefore ?? ''),
        pendingArg(plan),
      ],
    ).then((reply) => {
      if (!Array.isArray(reply) || reply[0] === 0) return found;
      found.lastUsedAt = plan.now;
      if (plan.ip !== undefined) found.lastUsedIp = plan.ip;
      return withWritten(found, decodeRecentIps(reply[1] as string), reply[2] as string);
    });
  }

  /** The second step of a check that found nothing under `t:`: a limited record, a tombstone, or nothing. */
  async #checkElsewhere(
    id: string,
    secretHash: string,
    plan: CheckPlan,
  ): Promise<CheckedToken | RevokedToken | null> {
    const reply = (await this.#run(
      CHECK_ELSEWHERE,
      [this.limitedKey(id), this.tombstoneKey(id)],
      [
        secretHash,
        String(plan.now),
        String(plan.touchIfBefore),
        ...ipArgs(plan),
        String(plan.expiresAt ?? ''),
        String(plan.newIpIfBefore ?? ''),
        pendingArg(plan),
      ],
    )) as ['L', string, number, number, string] | ['R', string] | null;
    if (reply === null) return null;
    if (reply[0] === 'R') return decodeToken(id, reply[1], plan.now);
    const found = decodeToken(id, reply[1], plan.now + Math.max(0, reply[2]));
    if (found === null || 'revokedAt' in found || found.expiresAt <= plan.now) return null;
    return withWritten(found, found.recentIps, reply[4]);
  }

  async get(id: string): Promise<StoredToken | null> {
    const now = this.#now();
    const reply = (await this.#run(READ, [this.tokenKey(id), this.limitedKey(id)], [])) as
      | [string, number]
      | null;
    if (!reply) return null;
    const [value, pttl] = reply;
    const found = decodeToken(id, value, pttl > 0 ? now + pttl : now);
    if (!found || 'revokedAt' in found || found.expiresAt <= now) return null;
    return found;
  }

  async listPage(user: string, page: PageRequest): Promise<TokenPage> {
    const index = this.userKey(user);
    const after = page.cursor === null ? null : parsePageCursor(page.cursor);
    if (page.cursor !== null && after === null) throw new TypeError('listPage: not a page cursor');
    const from = after === null ? ['', ''] : [String(after.createdAt), after.id];
    const [entries, reserved] = (await this.#run(
      PAGE,
      [index, this.reservationsKey(user)],
      [...from, String(page.limit)],
    )) as [string[], string[]];
    const ids = entries.filter((_, i) => i % 2 === 0);
    const found = await Promise.all(ids.map((id) => this.get(id)));
    // A reserved id's record may be on its way (see RESERVE): it stays.
    const gone = ids.filter(
      (id, i) => (found[i] === null || found[i]!.user !== user) && !reserved.includes(id),
    );
    if (gone.length > 0) await this.client.zrem(index, ...gone);
    const last = ids.length;
    return {
      tokens: found.filter((token): token is StoredToken => token !== null && token.user === user),
      cursor:
        last < page.limit
          ? null
          : formatPageCursor({ createdAt: Number(entries[2 * last - 1]), id: ids[last - 1]! }),
    };
  }

  /**
   * Each bucket of the index by hard limit read once (EXPIRING_PAGE, `page.limit` entries at most
   * each), merged, and the records of the first `page.limit` entries read. An entry whose record is
   * gone is dropped, unless reserved (its record may be on its way); one whose record has another
   * hard limit (a `limit` whose index update failed) is moved there, and listed when the listing
   * gets there.
   */
  async listExpiring(page: ExpiringPageRequest): Promise<TokenPage> {
    const after = page.cursor === null ? null : parseExpiringCursor(page.cursor);
    if (page.cursor !== null && after === null) throw new TypeError('listExpiring: not a page cursor');
    const buckets = Array.from({ length: EXPIRY_BUCKETS }, (_, bucket) => this.expiryKeys(bucket));
    const taken = await this.#expiringEntries(buckets, page, after);
    const records = await Promise.all(taken.map((entry) => this.get(entry.id)));
    const tokens: StoredToken[] = [];
    const repairs: Promise<unknown>[] = [];
    taken.forEach((entry, i) => {
      const record = records[i];
      const [key] = buckets[entry.bucket]!;
      if (record?.hardExpiresAt === entry.hardExpiresAt) tokens.push(record);
      else if (record?.hardExpiresAt)
        repairs.push(this.client.zadd(key!, String(record.hardExpiresAt), entry.id));
      else if (!entry.reserved) repairs.push(this.client.zrem(key!, entry.id));
    });
    await Promise.all(repairs);
    const last = taken.at(-1);
    return { tokens, cursor: taken.length === page.limit && last ? formatExpiringCursor(last) : null };
  }

  /**
   * The first `page.limit` entries of the merged buckets after `after`. Each bucket is asked first
   * for a share of the page (twice its even share: ids spread evenly); a bucket that answers in full
   * may hold more that belong in the page, and is asked again for a whole page from where it
   * stopped, until what is merged is certain up to `page.limit` entries. A page then reads about
   * twice what it lists, however many entries lie beyond it.
   */
  async #expiringEntries(
    buckets: [string, string][],
    page: ExpiringPageRequest,
    after: ExpiringPosition | null,
  ): Promise<ExpiringEntry[]> {
    const now = String(this.#now());
    const read = async (bucket: number, from: ExpiringPosition | null, count: number) => {
      const position = from === null ? ['', ''] : [String(from.hardExpiresAt), from.id];
      const args = [now, String(page.until), ...position, String(count)];
      const [found, reserved] = (await this.#run(EXPIRING_PAGE, buckets[bucket]!, args)) as [
        string[],
        string[],
      ];
      const entries = found
        .filter((_, i) => i % 2 === 0)
        .map((id, i) => ({
          id,
          hardExpiresAt: Number(found[2 * i + 1]),
          bucket,
          reserved: reserved.includes(id),
        }));
      // A bucket that answered in full may hold more, from its last entry on.
      return { entries, more: entries.length === count ? entries.at(-1)! : null };
    };
    const share = Math.min(page.limit, Math.ceil((2 * page.limit) / EXPIRY_BUCKETS));
    let reads = await Promise.all(buckets.map((_, bucket) => read(bucket, after, share)));
    const entries = reads.flatMap((found) => found.entries);
    for (;;) {
      const open = reads.filter((found) => found.more !== null);
      const certainUpTo = open.map((found) => found.more!).sort(compareExpiring)[0];
      const certain = entries
        .filter((entry) => certainUpTo === undefined || compareExpiring(entry, certainUpTo) <= 0)
        .sort(compareExpiring);
      if (certain.length >= page.limit || open.length === 0) return certain.slice(0, page.limit);
      reads = await Promise.all(open.map((found) => read(found.more!.bucket, found.more!, page.limit)));
      entries.push(...reads.flatMap((found) => found.entries));
    }
  }

  async delete(id: string, tombstoneUntil: number): Promise<StoredToken | null> {
    const now = this.#now();
    const keys = [this.tokenKey(id), this.limitedKey(id), this.tombstoneKey(id)];
    // As a duration, as a check's expiry: on Redis' clock, the tombstone lives as long as the service meant.
    const life = String(Math.max(1, tombstoneUntil - now));
    const reply = (await this.#takeAway(REVOKE, keys, [String(now), life])) as [string, number] | null;
    if (!reply) return null;
    const found = decodeToken(id, reply[0], now + Math.max(0, reply[1]));
    if (!found || 'revokedAt' in found) return null;
    await Promise.all([
      this.client.zrem(this.userKey(found.user), id),
      found.hardExpiresAt === null ? null : this.client.zrem(this.expiryKeys(expiryBucketOf(id))[0], id),
      this.#removeFromAncestors(found),
    ]);
    return found;
  }

  /**
   * LIMIT, then the token's entry in the index by hard limit moved forward (`ZADD LT`, which adds it
   * for a token that had no hard limit). Should that second step fail, a listing that reaches the
   * entry's old place moves it (see `listExpiring`).
   */
  async limit(id: string, hardExpiresAt: number): Promise<boolean> {
    const keys = [this.tokenKey(id), this.limitedKey(id)];
    const limited = (await this.#takeAway(LIMIT, keys, [String(this.#now()), String(hardExpiresAt)])) === 1;
    if (limited)
      await this.client.zadd(this.expiryKeys(expiryBucketOf(id))[0], 'LT', String(hardExpiresAt), id);
    return limited;
  }

  /** EVALSHA, falling back to EVAL when the server does not know the script yet (new or restarted node). */
  async #run(
    script: LuaScript,
    keys: string[],
    args: string[],
    client: RedisTokenStoreClient = this.client,
  ): Promise<unknown> {
    try {
      return await client.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(script.lua, keys.length, ...keys, ...args);
    }
  }

  /**
   * A script that takes access away, confirmed on the replicas unless `durableRevocation` is off.
   * Confirmed even when it revoked nothing: a revocation retried after `RevocationNotDurableError`
   * rewrites the tombstone it finds (see REVOKE), so that its wait covers the first attempt's write.
   */
  async #takeAway(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    const confirmer = this.#confirmer;
    if (!confirmer) return this.#run(script, keys, args);
    return confirmer.run(keys[0]!, (connection) => this.#run(script, keys, args, connection));
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

/** The IP arguments of the scripts that write a use: 'set' or 'keep', and the IP, escaped ('' for none). */
function ipArgs(plan: CheckPlan): [string, string] {
  if (plan.ip === undefined) return ['keep', ''];
  // Escaped as a scope is, spaces included: the recent IPs are a space-separated list.
  return ['set', plan.ip === null ? '' : escapeScope(plan.ip)];
}

/** The scripts' argument for the plan's pending addresses: as the recent IPs field is written ('' for none). */
function pendingArg(plan: CheckPlan): string {
  const pending = plan.pendingIps;
  return pending === undefined || pending.length === 0 ? '' : encodeRecentIps(pending);
}

/** The record a use was written to, with its recent IPs after, and the addresses `record_use` added. */
function withWritten(found: StoredToken, recentIps: StoredToken['recentIps'], added: string): CheckedToken {
  const checked: CheckedToken = found;
  checked.recentIps = recentIps;
  if (added !== '') checked.addedIps = decodeRecentIps(added).map((entry) => entry.ip);
  return checked;
}

/** An entry of the index by hard limit, with its bucket, and whether its issue is in flight. */
interface ExpiringEntry extends ExpiringPosition {
  bucket: number;
  reserved: boolean;
}

/** The bucket of the index by hard limit a token's entry is in: from the last hex digit of its id. */
export function expiryBucketOf(id: string): number {
  return Number.parseInt(id.slice(-1), 16) % EXPIRY_BUCKETS;
}

/**
 * How a key's expiry `until` is set: while a sliding window binds, as a duration (PX), which Redis
 * counts on its own clock whatever the skew; once the hard limit binds, as that time (PXAT), so that
 * the key never outlives it however long the command took to arrive.
 */
function expiryOf(now: number, until: number, hard: number | null): ['PX' | 'PXAT', string] {
  return hard !== null && until >= hard ? ['PXAT', String(hard)] : ['PX', String(Math.max(1, until - now))];
}
