// A PostgresTokenStore on its own table of a test's PostgreSQL server, with a fake clock: the
// conformance suite's harness ({ store, advance, cleanup }), and the pool the store was given.
import { randomBytes } from 'node:crypto';
import { Pool, type PoolConfig } from 'pg';
import { PostgresTokenStore } from '../../adapters/postgres';
import type { PostgresServer } from './postgres-server';

export interface PostgresHarness {
  store: PostgresTokenStore;
  pool: Pool;
  advance(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

/** A table name no other test uses. */
export const uniqueTable = () => `pta_test_${randomBytes(6).toString('hex')}`;

/** A pool as docs/postgres.md advises: an 'error' listener, and timeouts for a server that stops answering. */
export function testPool(server: PostgresServer, options: PoolConfig = {}): Pool {
  const pool = new Pool({ connectionString: server.url, max: 8, ...options });
  // An idle connection the server drops emits 'error' on the pool: unheard, it ends the process.
  pool.on('error', () => {});
  return pool;
}

export async function makePostgresHarness(
  server: PostgresServer,
  { clock = true }: { clock?: boolean } = {},
): Promise<PostgresHarness> {
  let time = Date.UTC(2026, 0, 1);
  const pool = testPool(server);
  const store = new PostgresTokenStore(pool, { table: uniqueTable(), ...(clock ? { now: () => time } : {}) });
  await store.createSchema();
  return {
    store,
    pool,
    advance: async (ms) => {
      time += ms;
    },
    cleanup: () => pool.end(),
  };
}
