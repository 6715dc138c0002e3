// The example app's entry point (`npm start`). Environment:
//   PORT              port to listen on (default 3000; 0 = any free port, printed at startup)
//   HOST              interface to listen on (default 127.0.0.1: a demo should not face the network)
//   DATA_DIR          where the files (DATA_DIR/files) and their node UUIDs (DATA_DIR/nodes.json) live;
//                     default: a fresh temporary folder with a demo tree, deleted on exit
//   DATABASE_URL      if set, tokens live in that PostgreSQL database's personal_tokens table (created
//                     at start if absent; the CLI's --postgres reaches them)
//   REDIS_URL         else, if set, tokens live in Redis there (as the CLI's); else in memory, with a demo token
//   REDIS_KEY_PREFIX  Redis key prefix (default 'pat:', the CLI's default)
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX, TokenService, type TokenStore } from 'personal-token-auth';
import { MemoryTokenStore } from 'personal-token-auth/adapters/memory';
import { PostgresTokenStore } from 'personal-token-auth/adapters/postgres';
import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
import { Pool } from 'pg';
// Until TokenService passes stores a CheckPlan: see that file.
import { createApp } from './app';
import { seedDemoTree } from './demo-tree';
import { NodeTree } from './node-tree';
import { type BannerFacts, startupBanner } from './startup-banner';
import { UserDirectory } from './users';

const DEMO_LOGIN = 'admin';
const DEMO_TOKEN_LIFETIME = '8h';

function portFromEnv(): number {
  const text = process.env.PORT ?? '3000';
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new Error(`PORT must be a port number, got ${text}`);
  return port;
}

async function main(): Promise<void> {
  const port = portFromEnv();
  const host = process.env.HOST ?? '127.0.0.1';
  const temporaryDataDir = process.env.DATA_DIR ? null : mkdtempSync(join(tmpdir(), 'pat-example-'));
  try {
    await serve(port, host, temporaryDataDir);
  } catch (error) {
    // A failed start (the port is taken, Redis is unreachable...) must not leave the demo tree behind.
    if (temporaryDataDir) rmSync(temporaryDataDir, { recursive: true, force: true });
    throw error;
  }
}

async function serve(port: number, host: string, temporaryDataDir: string | null): Promise<void> {
  const dataDir = temporaryDataDir ?? process.env.DATA_DIR!;
  seedDemoTree(dataDir);
  const nodes = NodeTree.open(dataDir);
  const users = new UserDirectory();

  const databaseUrl = process.env.DATABASE_URL || undefined;
  const redisUrl = databaseUrl ? undefined : process.env.REDIS_URL;
  const keyPrefix = process.env.REDIS_KEY_PREFIX ?? DEFAULT_KEY_PREFIX;
  const redis = redisUrl ? new Redis(redisUrl) : null;
  // ioredis reconnects by itself; without a listener an outage would print a stack per retry.
  redis?.on('error', (error: Error) => console.error(`Redis: ${error.message}`));
  // Timeouts so that a server that stops answering cannot hold the pool (see docs/postgres.md).
  const pool = databaseUrl
    ? new Pool({
        connectionString: databaseUrl,
        query_timeout: 2000,
        connectionTimeoutMillis: 2000,
        statement_timeout: 2000,
      })
    : null;
  // An idle connection the server drops is an 'error' on the pool: unheard, it would end the process.
  // The message only: the error carries the client, whose parameters hold the password.
  pool?.on('error', (error: Error) => console.error(`PostgreSQL: ${error.message}`));
  let store: TokenStore;
  if (pool) {
    const postgres = new PostgresTokenStore(pool);
    await postgres.createSchema();
    store = postgres;
  } else {
    store = redis ? new RedisTokenStore(redis, { prefix: keyPrefix }) : new MemoryTokenStore();
  }
  // trackIp: the settings page shows each token's recent client addresses.
  const tokens = new TokenService({ store, trackIp: true, resolveUser: (login) => users.resolve(login) });

  const app = createApp({ tokens, nodes, users });
  const server = app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  // In memory nobody else can create a token for this process, so it creates one: this is its creation
  // moment, the only time its text is shown.
  const demo =
    redis || pool
      ? null
      : await tokens.issue({
          user: DEMO_LOGIN,
          expiresIn: DEMO_TOKEN_LIFETIME,
          label: 'demo token (npm start)',
        });
  const facts: BannerFacts = {
    baseUrl: `http://${urlHost}:${address.port}`,
    filesDir: nodes.filesDir,
    filesAreTemporary: temporaryDataDir !== null,
    store: databaseUrl
      ? { kind: 'postgres', url: databaseUrl }
      : redisUrl
        ? { kind: 'redis', url: redisUrl, keyPrefix }
        : { kind: 'memory' },
    demoToken: demo ? { login: DEMO_LOGIN, token: demo.token, expiresIn: DEMO_TOKEN_LIFETIME } : null,
    readmeUuid: nodes.nodeAt('/docs/readme.txt')?.uuid ?? null,
  };
  process.stdout.write(startupBanner(facts));

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    server.close();
    server.closeAllConnections();
    Promise.allSettled([tokens.close(), redis?.quit(), pool?.end()]).then(() => {
      if (temporaryDataDir) rmSync(temporaryDataDir, { recursive: true, force: true });
      process.stderr.write(`stopped (${signal})\n`);
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
