import { randomBytes } from 'node:crypto';
import type { AttemptStore } from '../lib/attempt-store';
import { formatExpiringCursor, parseExpiringCursor } from '../lib/expiring-page';
import { checkOptions, optionNames } from '../lib/option-names';
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
import { formatPageCursor, parsePageCursor } from '../lib/token-page';
import { recordOfRow, type TokenRow, tokenOfRow } from './postgres-row';
import { schemaSql, schemaStatements, tableName } from './postgres-schema';
import { type Statement, type Statements, statementsFor } from './postgres-statements';

export { DEFAULT_TABLE, schemaSql } from './postgres-schema';

/**
 * What the store needs of a node-postgres `Pool` (a `pg.Pool` is one): a query with a name, text and
 * values, answered with its rows. Typed here so that the store's types need neither `pg` nor
 * `@types/pg`.
 */
export interface PostgresTokenStorePool {
  query(query: { name?: string; text: string; values?: unknown[] }): Promise<{
    rows: unknown[];
    rowCount: number | null;
  }>;
}

export interface PostgresTokenStoreOptions {
  /**
   * The tokens table (default `personal_tokens`; the throttle's is this name + `_failures`): a
   * lower-case identifier, in the connection's `search_path`.
   */
  table?: string;
  /** The clock (ms since the epoch). Inject one in tests to move time without sleeping. */
  now?: () => number;
}

const OPTION_NAMES = optionNames<PostgresTokenStoreOptions>({ table: true, now: true });

// Any fixed number: `createSchema` calls of every app instance take turns on it.
const SCHEMA_LOCK = 0x7074_6173;

/**
 * Tokens in PostgreSQL, through a node-postgres `Pool` that the app built (and configured with the
 * timeouts it wants, see docs/postgres.md); the store never opens connections itself.
 *
 * Every method is one statement, one round trip (see postgres-statements.ts). A check is one
 * `UPDATE … RETURNING` that refreshes a sliding token and writes a due last use together, with a
 * `SELECT` in the same statement for what it did not update (a wrong hash, a tombstone, a token with
 * only a hard limit and no use due, which is never written). Rows that expired are deleted a few at a
 * time as tokens are issued and failures counted: no job to run.
 */
export class PostgresTokenStore implements TokenStore, AttemptStore {
  readonly pool: PostgresTokenStorePool;
  readonly table: string;
  readonly #now: () => number;
  readonly #statements: Statements;

  constructor(pool: PostgresTokenStorePool, options: PostgresTokenStoreOptions = {}) {
    checkOptions('PostgresTokenStore', options, OPTION_NAMES);
    if (!pool || typeof pool.query !== 'function') {
      throw new TypeError('PostgresTokenStore needs a node-postgres Pool as its first argument');
    }
    this.pool = pool;
    this.table = tableName(options.table);
    this.#now = options.now ?? Date.now;
    this.#statements = statementsFor(this.table);
  }

  now(): number {
    return this.#now();
  }

  /**
   * Creates the tables and indexes if they are absent (`schemaSql()` is the same SQL, for migration
   * tools). Safe to call on every start, from many instances at once: they take turns on a lock.
   */
  async createSchema(): Promise<void> {
    // One simple query of several statements runs as one transaction, so the lock is held to the end.
    const statements = [`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`, ...schemaStatements(this.table)];
    await this.pool.query({ text: statements.join(';\n') });
  }

  /** The schema this store uses, as SQL (see `createSchema`). */
  schemaSql(): string {
    return schemaSql(this.table);
  }

  async create(token: StoredToken, options: CreateOptions = {}): Promise<CreateOutcome> {
    const max = options.maxLiveTokens ?? null;
    const { rows } = await this.#run(this.#statements.create, [
      token.id,
      token.user,
      token.secretHash,
      token.label,
      token.scopes,
      token.createdAt,
      token.expiresAt,
      token.hardExpiresAt,
      token.autoRefresh,
      token.lastUsedAt,
      token.lastUsedIp,
      this.#now(),
      max,
      token.ancestorIds ?? [],
    ]);
    const { created, live } = rows[0] as { created: boolean; live: string };
    if (created) return 'created';
    return max !== null && Number(live) >= max ? 'over-limit' : 'id-taken';
  }

  async verify(id: string, secretHash: string, plan: CheckPlan): Promise<CheckedToken | RevokedToken | null> {
    // A public id alone, with any hash, touches nothing.
    if (tokenIdOf(secretHash) !== id) return null;
    if (typeof plan.ip === 'string' || (plan.ip === null && plan.pendingIps !== undefined))
      return this.#verifyWithIp(id, secretHash, plan);
    const { rows } = await this.#run(this.#statements.verify, [
      id,
      secretHash,
      plan.now,
      plan.expiresAt,
      plan.touchIfBefore,
      plan.ip !== undefined,
      plan.ip ?? null,
    ]);
    const row = rows[0] as TokenRow | undefined;
    return row ? tokenOfRow(row) : null;
  }

  /** A check that records client IPs in `recent_ips` too (see `verifyWithIp`). */
  async #verifyWithIp(
    id: string,
    secretHash: string,
    plan: CheckPlan,
  ): Promise<CheckedToken | RevokedToken | null> {
    const pending = plan.pendingIps;
    const { rows } = await this.#run(this.#statements.verifyWithIp, [
      id,
      secretHash,
      plan.now,
      plan.expiresAt,
      plan.touchIfBefore,
      plan.ip ?? null,
      plan.newIpIfBefore ?? null,
      pending === undefined || pending.length === 0
        ? null
        : JSON.stringify(pending.map((entry) => ({ ip: entry.ip, lastSeenAt: entry.lastSeenAt }))),
    ]);
    const row = rows[0] as TokenRow | undefined;
    return row ? tokenOfRow(row) : null;
  }

  async get(id: string): Promise<StoredToken | null> {
    const { rows } = await this.#run(this.#statements.get, [id, this.#now()]);
    const row = rows[0] as TokenRow | undefined;
    return row ? recordOfRow(row) : null;
  }

  async listPage(user: string, page: PageRequest): Promise<TokenPage> {
    const after = page.cursor === null ? null : parsePageCursor(page.cursor);
    if (page.cursor !== null && after === null) throw new TypeError('listPage: not a page cursor');
    // One more than asked for says whether there is a next page.
    const values: unknown[] = [user, this.#now(), page.limit + 1];
    const { rows } = after
      ? await this.#run(this.#statements.nextPage, [...values, after.createdAt, after.id])
      : await this.#run(this.#statements.firstPage, values);
    const tokens = (rows as TokenRow[]).slice(0, page.limit).map(recordOfRow);
    const last = tokens.at(-1);
    return { tokens, cursor: rows.length > page.limit && last ? formatPageCursor(last) : null };
  }

  async listExpiring(page: ExpiringPageRequest): Promise<TokenPage> {
    const after = page.cursor === null ? null : parseExpiringCursor(page.cursor);
    if (page.cursor !== null && after === null) throw new TypeError('listExpiring: not a page cursor');
    // One more than asked for says whether there is a next page.
    const values: unknown[] = [this.#now(), page.until, page.limit + 1];
    const { rows } = after
      ? await this.#run(this.#statements.nextExpiring, [...values, after.hardExpiresAt, after.id])
      : await this.#run(this.#statements.firstExpiring, values);
    const tokens = (rows as TokenRow[]).slice(0, page.limit).map(recordOfRow);
    const last = tokens.at(-1);
    return {
      tokens,
      cursor:
        rows.length > page.limit && last
          ? formatExpiringCursor({ hardExpiresAt: last.hardExpiresAt!, id: last.id })
          : null,
    };
  }

  async delete(id: string, tombstoneUntil: number): Promise<StoredToken | null> {
    const { rows } = await this.#run(this.#statements.delete, [id, this.#now(), tombstoneUntil]);
    const row = rows[0] as TokenRow | undefined;
    return row ? recordOfRow(row) : null;
  }

  async listDescendants(ancestorId: string, limit: number): Promise<string[]> {
    const { rows } = await this.#run(this.#statements.descendants, [ancestorId, this.#now(), limit]);
    return (rows as { id: string }[]).map((row) => row.id);
  }

  async limit(id: string, hardExpiresAt: number): Promise<boolean> {
    const { rowCount } = await this.#run(this.#statements.limit, [id, this.#now(), hardExpiresAt]);
    return rowCount === 1;
  }

  // Attempt ids: unique across app instances without a random number per request.
  readonly #attemptPrefix = randomBytes(6).toString('hex');
  #lastAttempt = 0;

  async reserveAttempt(key: string, limit: number, window: number): Promise<AttemptReservation> {
    const attempt = `${this.#attemptPrefix}.${++this.#lastAttempt}`;
    const { rows } = await this.#run(this.#statements.reserveAttempt, [
      key,
      this.#now(),
      limit,
      window,
      attempt,
    ]);
    const row = rows[0] as { count: number; reset_at: string; reserved: boolean; pending: string };
    return {
      attempt: row.reserved ? attempt : null,
      failures: row.count,
      pending: Number(row.pending),
      resetAt: Number(row.reset_at),
    };
  }

  async releaseAttempt(key: string, attempt: string): Promise<void> {
    await this.#run(this.#statements.releaseAttempt, [key, attempt]);
  }

  async failAttempt(key: string, attempt: string, window: number): Promise<FailureCount> {
    const { rows } = await this.#run(this.#statements.failAttempt, [key, this.#now(), window, attempt]);
    return failureCountOf(rows[0]);
  }

  #run(statement: Statement, values: unknown[]) {
    return this.pool.query({ name: statement.name, text: statement.text, values });
  }
}

function failureCountOf(row: unknown): FailureCount {
  const { count, reset_at } = row as { count: number; reset_at: string };
  return { count, resetAt: Number(reset_at) };
}
