import type { Pool } from 'pg';
import { PostgresTokenStore } from '../adapters/postgres';
import { requireOptional } from '../lib/optional-dependency';
import { CommandFailure, messageOf, UsageError } from './errors';
import { redactUrl } from './redis';

/**
 * The CLI's own PostgreSQL pool, for `--postgres <url>`: as its Redis connection, it gives up fast
 * (1 s to connect, 1 s per statement) instead of waiting on a server that does not answer. `pg` is an
 * optional peer dependency, loaded only when this is used.
 */
const TIMEOUT_MS = 1_000;

export function assertPostgresUrl(url: string, origin: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new UsageError(
      `${origin} is not a URL: expected postgres://[user:password@]host[:port]/database or postgresql://...`,
    );
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new UsageError(`${origin} must use postgres:// or postgresql:// (got ${protocol}//)`);
  }
}

export interface OpenedPostgres {
  store: PostgresTokenStore;
  /** Names the server in messages; a password in the URL is shown as `***`. */
  where: string;
  close(): Promise<void>;
}

/** Connects, and creates the tables if they are absent, so that an unreachable server is reported as such. */
export async function openPostgres(url: string, options: { table?: string } = {}): Promise<OpenedPostgres> {
  const where = `PostgreSQL at ${redactUrl(url)}`;
  const pg = requireOptional<typeof import('pg')>('pg', 'the PostgreSQL store (--postgres)');
  const pool: Pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: TIMEOUT_MS,
    query_timeout: TIMEOUT_MS,
    statement_timeout: TIMEOUT_MS,
  });
  // Reported by the command that needed the server; never the error object itself, whose client holds
  // the connection parameters (the password among them).
  pool.on('error', () => {});
  const store = new PostgresTokenStore(pool, options);
  try {
    await store.createSchema();
  } catch (error) {
    await pool.end().catch(() => {});
    const code = (error as { code?: string } | null)?.code;
    throw new CommandFailure(`cannot reach ${where}: ${messageOf(error) || code || 'connection failed'}`);
  }
  return { store, where, close: () => pool.end() };
}
