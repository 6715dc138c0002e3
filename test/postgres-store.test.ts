import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { PostgresTokenStore, schemaSql } from '../adapters/postgres';
import { SWEEP_SAMPLE } from '../adapters/postgres-statements';
import type { StoredToken } from '../lib/store';
import { tokenIdOf } from '../lib/token-format';
import { conformanceCaseNames } from '../testing/check-token-store';
import { testTokenStore } from '../testing/node-test';
import { makePostgresHarness, testPool, uniqueTable } from './support/postgres-harness';
import { type PostgresServer, startPostgres } from './support/postgres-server';

let server: PostgresServer;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.cleanup();
});

testTokenStore('PostgresTokenStore', () => makePostgresHarness(server), {
  // No invalidation channel (the cache option needs Redis) and no standby in this harness.
  notOffered: conformanceCaseNames.filter(
    (name) => name.startsWith('invalidations:') || name.startsWith('failover:'),
  ),
});

describe('PostgresTokenStore', () => {
  const record = (time: number, overrides: Partial<StoredToken> = {}): StoredToken => {
    const secretHash = randomBytes(32).toString('hex');
    return {
      id: tokenIdOf(secretHash),
      user: 'alice',
      secretHash,
      label: null,
      scopes: [],
      createdAt: time,
      expiresAt: time + 1000,
      hardExpiresAt: time + 1000,
      autoRefresh: null,
      lastUsedAt: null,
      lastUsedIp: null,
      recentIps: [],
      ancestorIds: [],
      ...overrides,
    };
  };

  test('refuses a table name that is not a plain identifier', () => {
    const pool = { query: async () => ({ rows: [], rowCount: 0 }) };
    for (const table of ['Tokens', 'a-b', 'x"; DROP TABLE users; --', 'public.tokens', '', 'a'.repeat(41)]) {
      assert.throws(() => new PostgresTokenStore(pool, { table }), TypeError, table);
    }
    assert.throws(() => new PostgresTokenStore({} as never), TypeError);
  });

  test('createSchema is idempotent and safe from many callers at once', async () => {
    const pool = testPool(server);
    try {
      const store = new PostgresTokenStore(pool, { table: uniqueTable() });
      await Promise.all(Array.from({ length: 6 }, () => store.createSchema()));
      await store.createSchema();
      const { rows } = await pool.query(
        'SELECT count(*)::int AS n FROM pg_indexes WHERE tablename IN ($1, $2)',
        [store.table, `${store.table}_failures`],
      );
      // Two primary keys, the listing index, the index by hard limit, the index by ancestor, the
      // failures' expiry index.
      assert.equal(rows[0].n, 6);
    } finally {
      await pool.end();
    }
  });

  test('createSchema adds recent_ips to a table made before it, keeping its tokens', async () => {
    const h = await makePostgresHarness(server);
    try {
      const time = h.store.now();
      const token = record(time, { expiresAt: time + 60_000, hardExpiresAt: time + 60_000 });
      assert.equal(await h.store.create(token), 'created');
      await h.pool.query(`ALTER TABLE "${h.store.table}" DROP COLUMN recent_ips`);
      await h.store.createSchema();
      assert.deepEqual(await h.store.get(token.id), token, 'the token, with no recent IPs');
      const plan = {
        now: time,
        expiresAt: null,
        touchIfBefore: time,
        ip: '203.0.113.9',
        newIpIfBefore: time,
      };
      const used = await h.store.verify(token.id, token.secretHash, plan);
      assert.deepEqual(used && 'recentIps' in used && used.recentIps, [
        { ip: '203.0.113.9', lastSeenAt: time },
      ]);
    } finally {
      await h.cleanup();
    }
  });

  test('createSchema adds ancestor_ids to a table made before it: its tokens read as made by no token', async () => {
    const h = await makePostgresHarness(server);
    try {
      const time = h.store.now();
      const token = record(time, { expiresAt: time + 60_000, hardExpiresAt: time + 60_000 });
      assert.equal(await h.store.create(token), 'created');
      await h.pool.query(`DROP INDEX "${h.store.table}_by_ancestor"`);
      await h.pool.query(`ALTER TABLE "${h.store.table}" DROP COLUMN ancestor_ids`);
      await h.store.createSchema();
      assert.deepEqual(await h.store.get(token.id), token, 'the token, with no ancestors');
      const child = record(time, {
        expiresAt: time + 60_000,
        hardExpiresAt: time + 60_000,
        ancestorIds: [token.id],
      });
      assert.equal(await h.store.create(child), 'created');
      assert.deepEqual(await h.store.listDescendants(token.id, 10), [child.id]);
    } finally {
      await h.cleanup();
    }
  });

  test('docs/postgres.md prints the schema createSchema runs', () => {
    const docs = readFileSync(new URL('../docs/postgres.md', `file://${__filename}`), 'utf8');
    assert.ok(docs.includes(schemaSql().trim()), 'the SQL in the docs is schemaSql()');
  });

  test('hostile text is stored and listed intact', async () => {
    const h = await makePostgresHarness(server);
    try {
      const time = h.store.now();
      const texts = [
        "o'brien",
        'Robert"); DROP TABLE students;--',
        '\\ backslash \\\\ and $1 and %s',
        '{"json": [1, 2]}, {a,b}',
        'ünïcødé 👩‍👩‍👧 עברית \u202e',
        ' ',
      ];
      for (const text of texts) {
        const token = record(time, { user: text, label: text, scopes: [text, 'node:1:r', ''] });
        assert.equal(await h.store.create(token), 'created');
        assert.deepEqual((await h.store.listPage(text, { cursor: null, limit: 10 })).tokens, [token]);
      }
      // A NUL cannot be stored in PostgreSQL text: refused with an error, never cut short.
      await assert.rejects(h.store.create(record(time, { label: 'a\u0000b' })));
    } finally {
      await h.cleanup();
    }
  });

  test('expired rows are deleted as tokens are issued, a few at a time, without a job', async () => {
    const h = await makePostgresHarness(server);
    try {
      const rows = async () =>
        (await h.pool.query(`SELECT count(*)::int AS n FROM "${h.store.table}"`)).rows[0].n as number;
      for (let i = 0; i < 400; i++) await h.store.create(record(h.store.now()));
      assert.equal(await rows(), 400);
      await h.advance(1000);
      // Each issue looks at SWEEP_SAMPLE rows after its own random id.
      for (let i = 0; i < 100; i++)
        await h.store.create(record(h.store.now(), { expiresAt: h.store.now() + 60_000 }));
      const left = await rows();
      // 100 issues, each looking at SWEEP_SAMPLE of ~500 rows, reach nearly all of the 400 expired.
      assert.ok(left < 200, `expired rows deleted: ${left} rows left of 500`);
    } finally {
      await h.cleanup();
    }
  });

  test('failure counters of past windows are deleted as failures are counted', async () => {
    const h = await makePostgresHarness(server);
    try {
      const rows = async () =>
        (await h.pool.query(`SELECT count(*)::int AS n FROM "${h.store.table}_failures"`)).rows[0]
          .n as number;
      for (let i = 0; i < 200; i++) await h.store.failAttempt(`198.51.100.${i}`, 'lapsed', 1000);
      await h.advance(1000);
      for (let i = 0; i < 10; i++) await h.store.failAttempt(`203.0.113.${i}`, 'lapsed', 1000);
      // Each failure deletes up to SWEEP_SAMPLE rows whose window is over.
      assert.equal(await rows(), Math.max(10, 210 - 10 * SWEEP_SAMPLE));
    } finally {
      await h.cleanup();
    }
  });

  // Two clients whose counters both lapsed, failing at once, would each lock its own row and then
  // wait for the other's in its sweep: a deadlock, a 503 for both. A sweep takes only free rows.
  test("the throttle's sweep never waits for a row another statement holds", async () => {
    const h = await makePostgresHarness(server);
    const holder = await h.pool.connect();
    try {
      await h.store.failAttempt('198.51.100.7', 'lapsed', 1000);
      await h.advance(1000);
      // Another client's statement holds that lapsed row, as its own upsert would.
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "${h.store.table}_failures" WHERE key = $1 FOR UPDATE`, [
        '198.51.100.7',
      ]);
      const statements = [
        () => h.store.failAttempt('203.0.113.1', 'lapsed', 1000),
        () => h.store.reserveAttempt('203.0.113.2', 5, 1000),
        async () => {
          const { attempt } = await h.store.reserveAttempt('203.0.113.3', 5, 1000);
          await h.store.failAttempt('203.0.113.3', attempt!, 1000);
        },
      ];
      for (const statement of statements) {
        let settled = false;
        const done = statement().finally(() => {
          settled = true;
        });
        // Bounded by rounds, not time: each round asks the server whether a statement waits on a lock.
        for (let round = 0; !settled; round++) {
          assert.ok(round < 10_000, 'hang guard');
          const { rows } = await h.pool.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%_failures%'",
          );
          assert.equal(rows[0].n, 0, 'a statement of the store waits for the held row');
        }
        await done;
      }
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
      await h.cleanup();
    }
  });
});
