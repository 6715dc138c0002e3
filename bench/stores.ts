// The backing stores the servers need, started by the harness for the run alone (a fresh server on
// a free port, so its counters count only the bench's traffic) and stopped at the end. A server
// definition names its store; adding a store is one entry here.
import type { TokenStore } from 'personal-token-auth';
import { Client, Pool } from 'pg';
import { startPostgres } from '../test/support/postgres-server';
import { startRedis } from '../test/support/redis-server';
import { LOGIN_KEY_PREFIX, LOGIN_TABLE } from './servers/serve';

/** A seeded token and its owner's login, as the load sends them. */
export interface Credential {
  login: string;
  token: string;
}

export type StoreName = 'redis' | 'postgres';

/** Loads a module of the library under test (this checkout's or --compare's) by its package specifier. */
export type LibraryLoader = (specifier: string) => unknown;

export interface RunningStore {
  name: string;
  version: string;
  /** What a server process gets in its environment to reach it. */
  env: Record<string, string>;
  /** The library's store over it, to issue the seeded tokens through, and how to let go of it. */
  tokenStore(library: LibraryLoader): Promise<{ store: TokenStore; close(): void }>;
  /** The floor's data, where the floor reads: each token's text → its login, for one plain lookup. */
  writeLogins?(credentials: Credential[]): Promise<void>;
  /** Commands (statements) it has executed since it started, those run inside scripts included. */
  commands(): Promise<number>;
  stop(): Promise<void>;
}

async function startRedisStore(): Promise<RunningStore> {
  const server = await startRedis();
  const harness = server.client();
  const info = await harness.info('server');
  return {
    name: 'Redis',
    version: /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown',
    env: { REDIS_URL: server.url },
    async tokenStore(library) {
      const { RedisTokenStore } = library(
        'personal-token-auth/adapters/redis',
      ) as typeof import('personal-token-auth/adapters/redis');
      const client = server.client({ enableAutoPipelining: true });
      return { store: new RedisTokenStore(client), close: () => client.disconnect() };
    },
    async writeLogins(credentials) {
      for (let start = 0; start < credentials.length; start += 1000) {
        const batch = harness.pipeline();
        for (const { login, token } of credentials.slice(start, start + 1000))
          batch.set(LOGIN_KEY_PREFIX + token, login);
        await batch.exec();
      }
    },
    async commands() {
      let calls = 0;
      // The harness' own INFO calls are not the servers' traffic.
      for (const [, command, n] of (await harness.info('commandstats')).matchAll(
        /^cmdstat_([^:]+):calls=(\d+)/gm,
      ))
        if (command !== 'info') calls += Number(n);
      return calls;
    },
    stop: () => server.stop(),
  };
}

async function startPostgresStore(): Promise<RunningStore> {
  const server = await startPostgres();
  const harness = new Client({ connectionString: server.url });
  await harness.connect();
  const version = (await harness.query('SHOW server_version')).rows[0].server_version as string;
  await harness.end();
  return {
    name: 'PostgreSQL',
    version,
    env: { DATABASE_URL: server.url },
    async tokenStore(library) {
      const { PostgresTokenStore } = library(
        'personal-token-auth/adapters/postgres',
      ) as typeof import('personal-token-auth/adapters/postgres');
      const pool = new Pool({ connectionString: server.url, max: 16 });
      const store = new PostgresTokenStore(pool);
      await store.createSchema();
      return { store, close: () => void pool.end() };
    },
    // Keyed as the library's table is (COLLATE "C": bytes compared, not a locale's rules).
    async writeLogins(credentials) {
      const client = new Client({ connectionString: server.url });
      await client.connect();
      try {
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${LOGIN_TABLE} (token text COLLATE "C" PRIMARY KEY, login text NOT NULL)`,
        );
        for (let start = 0; start < credentials.length; start += 1000) {
          const batch = credentials.slice(start, start + 1000);
          await client.query(
            `INSERT INTO ${LOGIN_TABLE} SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
            [batch.map(({ token }) => token), batch.map(({ login }) => login)],
          );
        }
      } finally {
        await client.end();
      }
    },
    // Every statement on the tokens table and on the floor's, counted at the server by pg_stat_statements.
    commands: async () =>
      (await server.statementCount('"personal_tokens"')) + (await server.statementCount(LOGIN_TABLE)),
    stop: () => server.cleanup(),
  };
}

export const STORES: Record<StoreName, () => Promise<RunningStore>> = {
  redis: startRedisStore,
  postgres: startPostgresStore,
};
