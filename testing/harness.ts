import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AttemptStore } from '../lib/attempt-store';
import type { InvalidationChannel } from '../lib/cache-invalidation';
import { isRevoked, planCheck } from '../lib/check/token-checker';
import type { CheckedToken, CheckPlan, StoredToken, TokenStore } from '../lib/store';
import { tokenIdOf } from '../lib/token-format';

/**
 * What the conformance suite needs of a store under test. `makeHarness()` is called once per case,
 * and that case's `cleanup()` once it ends, passed or failed: each case starts from a store that
 * holds nothing it did not create (a fresh key prefix, schema or table is enough; the cases use
 * random ids and logins, so a shared database is fine too).
 */
export interface StoreHarness {
  /** The store; the throttle's cases run when it is an `AttemptStore` too. */
  store: TokenStore & Partial<AttemptStore>;
  /**
   * Moves the store's time forward by `ms`: a store with an injectable clock moves it at once; one
   * whose server expires records on its own clock (Redis, a database's `now()`) must really wait.
   * The cases keep their durations to a few seconds for that reason.
   */
  advance(ms: number): Promise<void>;
  cleanup(): Promise<void>;
  /**
   * Optional, for a store with an invalidation channel shared by processes (`TokenStore.invalidations`):
   * the channel as another process on the same store holds it, with connections and state of its own.
   * The channel cases publish on `store` and expect this one's subscribers to hear every message.
   * Without it they check this process's subscribers only (enough for a store that lives in one process).
   * `cleanup()` closes what it opened.
   */
  remoteChannel?(): Promise<InvalidationChannel>;
  /**
   * Optional: cuts the connections of the channel subscriptions made so far (on `store` and
   * `remoteChannel()`), as a network fault or a server restart would, without closing them: the case for
   * reconnection expects each to report it and to come back.
   */
  dropSubscriptions?(): Promise<void>;
  /**
   * Optional, for a store that waits for its replicas (`TokenStore.revocationWait`): the store as it
   * stands once its primary is lost and a replica took over, with whatever replication was in flight
   * lost with the primary. A revocation that resolved before must hold there. Called at most once.
   */
  failover?(): Promise<TokenStore>;
}

export const SECOND = 1000;

/**
 * How far a store's reading of an expiry may stray from the one it was given, in ms: a store that
 * keeps expiries on its server's clock reads them back through a round trip.
 */
export const SLACK = 500;

/**
 * How long after `publish` resolves a subscriber in another process may hear of it, by default (ms):
 * the cache's default `maxStale`, beyond which a channel protects nothing the cache's own bound does not.
 */
export const INVALIDATION_BOUND = 1000;

/** What a case works with: the harness, and the helpers every case uses. */
export class CaseContext {
  constructor(
    readonly harness: StoreHarness,
    /** See `CheckTokenStoreOptions.invalidationBound`. */
    readonly invalidationBound = INVALIDATION_BOUND,
  ) {}

  get store(): TokenStore & Partial<AttemptStore> {
    return this.harness.store;
  }

  advance(ms: number): Promise<void> {
    return this.harness.advance(ms);
  }

  /** The store's clock, as the service reads it. */
  now(): number {
    return this.store.now?.() ?? Date.now();
  }

  /** A login nobody else uses. */
  user(): string {
    return `user-${randomBytes(6).toString('hex')}`;
  }

  /**
   * A record as the service makes one: its id the first 16 hex digits of its hash, and its expiry
   * the end of its first window, within its hard limit (the hard limit itself for a token without a
   * window). `window` and `hard` are durations from now (null for none).
   */
  record(
    terms: { window?: number | null; hard?: number | null } = {},
    fields: Partial<StoredToken> = {},
  ): StoredToken {
    const created = fields.createdAt ?? this.now();
    const now = this.now();
    const window = terms.window ?? null;
    const hard = terms.hard === undefined ? (window === null ? 60 * SECOND : null) : terms.hard;
    const hardExpiresAt = hard === null ? null : now + hard;
    const secretHash = randomBytes(32).toString('hex');
    return {
      id: tokenIdOf(secretHash),
      user: 'alice',
      secretHash,
      label: null,
      scopes: [],
      createdAt: created,
      expiresAt: Math.min(
        window === null ? Number.POSITIVE_INFINITY : now + window,
        hardExpiresAt ?? Number.POSITIVE_INFINITY,
      ),
      hardExpiresAt,
      autoRefresh: window,
      lastUsedAt: null,
      lastUsedIp: null,
      recentIps: [],
      ancestorIds: [],
      ...fields,
    };
  }

  /** Creates records, asserting that the store took each one. */
  async create(...tokens: StoredToken[]): Promise<void> {
    for (const token of tokens) assert.equal(await this.store.create(token), 'created', `create ${token.id}`);
  }

  /**
   * The plan the service makes for a check of this token's text, now: from the terms it was made
   * with (its text carries them), whatever `limit` did to the record since.
   */
  plan(token: StoredToken, options: { touchInterval?: number; ip?: string | null } = {}): CheckPlan {
    return planCheck(token, this.now(), options.touchInterval ?? 60 * SECOND, options.ip);
  }

  /** verify() for a token expected live or gone, never revoked. */
  async verifyLive(token: StoredToken, plan: CheckPlan = this.plan(token)): Promise<CheckedToken | null> {
    const found = await this.store.verify(token.id, token.secretHash, plan);
    assert.ok(found === null || !isRevoked(found), 'verify found a tombstone for a token never revoked');
    return found;
  }

  /** The same id with another hash: the id's 16 hex digits, then a different remainder. */
  sameIdOtherHash(token: StoredToken): string {
    const rest = token.secretHash.slice(16);
    let other = randomBytes(24).toString('hex');
    while (other === rest) other = randomBytes(24).toString('hex');
    return token.id + other;
  }

  /** Every page of a user's listing, `limit` at a time. */
  async listAll(owner: string, limit = 1000): Promise<StoredToken[]> {
    const tokens: StoredToken[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await this.store.listPage(owner, { cursor, limit });
      assert.ok(page.tokens.length <= limit, 'a page holds no more than its limit');
      tokens.push(...page.tokens);
      cursor = page.cursor;
      assert.ok(++pages <= 10_000, 'the listing ends');
    } while (cursor !== null);
    return tokens;
  }

  /** After expiry, verify finds nothing, or (a store that has not forgotten it yet) an expired record. */
  assertGone(found: StoredToken | null, what: string): void {
    assert.ok(found === null || found.expiresAt <= this.now(), `${what}: gone`);
  }
}

/** One check of the suite: a name that says what a store must do, and the check itself. */
export interface ConformanceCase {
  name: string;
  /** Whether the store, and its harness, have what this case tests (the throttle's methods are optional). */
  appliesTo?: (store: StoreHarness['store'], harness: StoreHarness) => boolean;
  run(context: CaseContext): Promise<void>;
}
