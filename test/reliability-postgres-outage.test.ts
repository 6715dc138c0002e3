// PostgreSQL stopped, then frozen (SIGSTOP), under a steady load of live and revoked tokens, through
// personalTokenAuth over a TokenService on the PostgreSQL store, with the pool settings that
// docs/postgres.md advises. Fail closed and fast: 503 + Retry-After within the deadline, never a pass
// for a revoked token; back, every request is answered again without restarting the app.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Pool } from 'pg';
import { PostgresTokenStore } from '../adapters/postgres';
import { personalTokenAuth, TokenService } from '../lib/index';
import { type AuthServer, startAuthServer } from './support/auth-server';
import {
  assertFailoverVerdict,
  issuePopulation,
  loadThroughFault,
  type TokenPopulation,
} from './support/failover-load';
import { testPool, uniqueTable } from './support/postgres-harness';
import { type PostgresServer, startPostgres } from './support/postgres-server';

/** TokenService timeout: short, so that the outage shows in many requests. */
const TIMEOUT_MS = 500;
/** Head room for a loaded 2-core CI machine; far below "hanging". */
const MARGIN_MS = 1000;
const OUTAGE_MS = 3000;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PostgreSQL outage under load', () => {
  let server: PostgresServer;
  let pool: Pool;
  let tokens: TokenService;
  let app: AuthServer;
  let population: TokenPopulation;

  before(async () => {
    server = await startPostgres();
    // As docs/postgres.md advises: a stuck query and a connection that does not come give up, so
    // that the pool's clients and queue cannot stay taken by a server that stopped answering.
    pool = testPool(server, { query_timeout: 1000, connectionTimeoutMillis: 1000 });
    const store = new PostgresTokenStore(pool, { table: uniqueTable() });
    await store.createSchema();
    tokens = new TokenService({ store: store, timeout: TIMEOUT_MS });
    app = await startAuthServer(personalTokenAuth({ tokens }));
    population = await issuePopulation(tokens, { live: 6, revoked: 3 });
  });

  after(async () => {
    await app?.close();
    await pool?.end();
    await server?.cleanup();
  });

  async function outage(fault: () => Promise<void>) {
    const run = await loadThroughFault(`${app.url}/whoami`, population, fault, { settleMs: 1500 });
    const report = assertFailoverVerdict(run, { maxLatencyMs: TIMEOUT_MS + MARGIN_MS });
    // The fault was seen (requests answered 503), so the verdict above is about an outage.
    assert.ok((report.counts['live:503'] ?? 0) > 0, `the outage showed: ${JSON.stringify(report)}`);
    for (const sample of run.samples.filter((s) => s.status === 503)) {
      assert.deepEqual(JSON.parse(sample.body), { error: 'temporarily_unavailable' });
    }
    return report;
  }

  test('PostgreSQL stopped, then started again on the same port', { timeout: 60_000 }, async (t) => {
    const report = await outage(async () => {
      await server.stop();
      await delay(OUTAGE_MS);
      await server.start();
    });
    t.diagnostic(`stop/start: ${JSON.stringify(report)}`);
  });

  test('PostgreSQL frozen with SIGSTOP, then resumed', { timeout: 60_000 }, async (t) => {
    const report = await outage(async () => {
      server.freeze();
      await delay(OUTAGE_MS);
      server.thaw();
    });
    t.diagnostic(`SIGSTOP/SIGCONT: ${JSON.stringify(report)}`);
  });
});
