// One statement per check, counted at the server (pg_stat_statements): a sliding token's refresh and
// its due last use in one UPDATE, a token with only a hard limit read with no write while no use is
// due. N checks through the service are N statements, nothing else.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TokenService } from '../lib/index';
import { makePostgresHarness, type PostgresHarness } from './support/postgres-harness';
import { type PostgresServer, startPostgres } from './support/postgres-server';
import { waitFor } from './support/wait-for';

let server: PostgresServer;
let h: PostgresHarness;
let tokens: TokenService;
before(async () => {
  server = await startPostgres();
  h = await makePostgresHarness(server, { clock: false });
  tokens = new TokenService({ store: h.store, trackIp: true });
});
after(async () => {
  await h?.cleanup();
  await server?.cleanup();
});

/** Statements on the store's table while `run` runs. */
async function statementsDuring(run: () => Promise<void>): Promise<number> {
  const before = await server.statementCount(`"${h.store.table}"`);
  await run();
  return (await server.statementCount(`"${h.store.table}"`)) - before;
}

/** The transaction that wrote the token's row version: it changes with every write. */
async function rowVersion(id: string): Promise<string> {
  const { rows } = await h.pool.query(`SELECT xmin::text AS xmin FROM "${h.store.table}" WHERE id = $1`, [
    id,
  ]);
  return rows[0].xmin;
}

const CHECKS = 50;

test('a sliding token: N checks are N statements, each refreshing the row', async () => {
  const issued = await tokens.issue({ user: 'alice', autoRefresh: '10m', expiresIn: '1h' });
  const versions = new Set<string>();
  const counted = await statementsDuring(async () => {
    for (let i = 0; i < CHECKS; i++) {
      const result = await tokens.authenticate(issued.token, { ip: '192.0.2.1' });
      assert.equal(result.ok, true);
      versions.add(await rowVersion(issued.id));
    }
  });
  // (rowVersion's own SELECTs name the table too.)
  assert.equal(counted, 2 * CHECKS);
  // Each check refreshed the expiry: a write each time, in the same statement.
  assert.equal(versions.size, CHECKS);
});

test('a token with only a hard limit: N checks are N statements, and no write while no use is due', async () => {
  const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
  const created = await rowVersion(issued.id);
  const counted = await statementsDuring(async () => {
    for (let i = 0; i < CHECKS; i++) {
      assert.equal((await tokens.authenticate(issued.token, { login: 'alice' })).ok, true);
    }
  });
  assert.equal(counted, CHECKS);
  // The first use was written (the row changed once); the 49 after it were reads.
  const afterChecks = await rowVersion(issued.id);
  assert.notEqual(afterChecks, created);
  assert.equal((await tokens.authenticate(issued.token)).ok, true);
  assert.equal(await rowVersion(issued.id), afterChecks);
  assert.ok((await h.store.get(issued.id))?.lastUsedAt);
});

test('every check that writes is a HOT update: no index entry per check', async () => {
  const issued = await tokens.issue({ user: 'carol', autoRefresh: '10m' });
  for (let i = 0; i < 200; i++) assert.equal((await tokens.authenticate(issued.token)).ok, true);
  const updates = async () =>
    (
      await h.pool.query(
        'SELECT n_tup_upd::int AS all, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = $1',
        [h.store.table],
      )
    ).rows[0] as { all: number; hot: number };
  // Each backend reports its counts to the statistics view a moment after it goes idle.
  const counted = await waitFor('the updates to reach pg_stat_user_tables', async () => {
    const seen = await updates();
    return seen.all >= 200 ? seen : undefined;
  });
  assert.equal(counted.hot, counted.all, JSON.stringify(counted));
});

test('a refused token (unknown, revoked, wrong login) is one statement too', async () => {
  const issued = await tokens.issue({ user: 'alice', autoRefresh: '10m' });
  const revoked = await tokens.issue({ user: 'alice', autoRefresh: '10m' });
  await tokens.revoke(revoked.id);
  const counted = await statementsDuring(async () => {
    assert.equal((await tokens.authenticate(revoked.token)).ok, false);
    assert.equal((await tokens.authenticate(issued.token, { login: 'mallory' })).ok, false);
  });
  assert.equal(counted, 2);
});
