// Expiry notices: `personal-token expiring --within 7d` lists exactly the tokens whose hard limit is
// within the window, across users, on every store (memory, Redis, Redis Cluster, PostgreSQL); and
// paging over 10,000 expiring tokens is complete and costs the same however many other tokens the
// store holds (counted at the server: Redis commands by MONITOR, PostgreSQL statements by
// pg_stat_statements, and the plan's index).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryTokenStore } from '../adapters/memory';
import { PostgresTokenStore } from '../adapters/postgres';
import { EXPIRY_BUCKETS, RedisTokenStore } from '../adapters/redis';
import { listExpiringTokens, parseExpiringOptions } from '../cli/actions';
import { formatJson } from '../cli/output';
import { tokenToJson } from '../lib/http/token-json';
import { TokenService } from '../lib/index';
import { runCliInProcess } from './cli-support';
import { testPool, uniqueTable } from './support/postgres-harness';
import { type PostgresServer, startPostgres } from './support/postgres-server';
import { type RedisClusterHandle, startCluster } from './support/redis-cluster';
import { monitorRedis } from './support/redis-monitor';
import { type RedisServer, startRedis } from './support/redis-server';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Three users' tokens: hard limits in 1 hour, 3 days and 30 days, and one sliding only. */
async function seed(tokens: TokenService): Promise<{ expiring: string[]; all: string[] }> {
  const soon = await tokens.issue({ user: 'ann', expiresIn: '1h' });
  const later = await tokens.issue({ user: 'bob', expiresIn: '3d', autoRefresh: '1d' });
  const far = await tokens.issue({ user: 'cyd', expiresIn: '30d' });
  const sliding = await tokens.issue({ user: 'ann', autoRefresh: '1d' });
  return { expiring: [soon.id, later.id], all: [soon.id, later.id, far.id, sliding.id] };
}

/** What `expiring --within 7d --json` prints, through the CLI's own action and output. */
async function expiringJson(tokens: TokenService): Promise<{ id: string; user: string }[]> {
  const found = await listExpiringTokens(tokens, parseExpiringOptions({ within: '7d' }));
  return JSON.parse(formatJson(found.tokens.map(tokenToJson)));
}

describe('expiring --within 7d lists exactly the tokens whose hard limit is within 7 days', () => {
  test('memory store', async () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    const { expiring } = await seed(tokens);
    const listed = await expiringJson(tokens);
    assert.deepEqual(
      listed.map((token) => token.id),
      expiring,
    );
    assert.deepEqual(
      listed.map((token) => token.user),
      ['ann', 'bob'],
    );
  });

  test('Redis: the CLI', async () => {
    const server = await startRedis();
    try {
      const tokens = new TokenService({ store: new RedisTokenStore(server.client()) });
      const { expiring } = await seed(tokens);
      const run = await runCliInProcess(['--redis', server.url, 'expiring', '--within', '7d', '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        (JSON.parse(run.stdout) as { id: string }[]).map((token) => token.id),
        expiring,
      );
      const table = await runCliInProcess(['--redis', server.url, 'expiring', '--within', '7d']);
      assert.equal(table.code, 0, table.stderr);
      assert.deepEqual(
        expiring.map((id) => table.stdout.includes(id)),
        [true, true],
      );
      const refused = await runCliInProcess(['--redis', server.url, 'expiring', '--within', '7 days']);
      assert.equal(refused.code, 2, 'a bad duration is a usage error');
    } finally {
      await server.stop();
    }
  });

  test('Redis Cluster: buckets spread over the masters, and the listing merges them', async () => {
    let cluster: RedisClusterHandle | undefined;
    try {
      cluster = await startCluster();
      const client = cluster.cluster();
      if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
      const store = new RedisTokenStore(client, { prefix: 'notices:' });
      const tokens = new TokenService({ store });
      const { expiring } = await seed(tokens);
      assert.deepEqual(
        (await expiringJson(tokens)).map((token) => token.id),
        expiring,
      );
      const masters = new Set();
      for (let bucket = 0; bucket < EXPIRY_BUCKETS; bucket++)
        masters.add((await cluster.masterForKey(store.expiryKeys(bucket)[0])).port);
      assert.equal(masters.size, 3, 'the buckets are on every master');
    } finally {
      await cluster?.stop();
    }
  });

  test('PostgreSQL: the CLI', async () => {
    const server = await startPostgres();
    const pool = testPool(server);
    try {
      const store = new PostgresTokenStore(pool);
      await store.createSchema();
      const { expiring } = await seed(new TokenService({ store }));
      const run = await runCliInProcess(['--postgres', server.url, 'expiring', '--within', '7d', '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        (JSON.parse(run.stdout) as { id: string }[]).map((token) => token.id),
        expiring,
      );
    } finally {
      await pool.end();
      await server.cleanup();
    }
  });
});

const EXPIRING = 10_000;
const OTHERS = 10_000;

/** Issues `count` tokens, a few hundred at a time. */
async function issueMany(
  tokens: TokenService,
  count: number,
  options: { expiresIn?: string; autoRefresh?: string },
) {
  const ids: string[] = [];
  for (let done = 0; done < count; done += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, count - done) }, (_, i) =>
        tokens.issue({ user: `user${(done + i) % 97}`, ...options }),
      ),
    );
    ids.push(...batch.map((token) => token.id));
  }
  return ids;
}

/** Every page of `listExpiring` within 7 days: the ids, in order, and how many pages. */
async function pageThrough(tokens: TokenService): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await tokens.listExpiring({ within: '7d', cursor, limit: 1000 });
    ids.push(...page.tokens.map((token) => token.id));
    cursor = page.cursor;
    pages++;
  } while (cursor !== null);
  return { ids, pages };
}

function assertComplete(ids: string[], expected: string[]): void {
  assert.equal(ids.length, expected.length, 'every id');
  assert.equal(new Set(ids).size, ids.length, 'each once');
  assert.deepEqual([...ids].sort(), [...expected].sort());
}

describe('paging over 10,000 expiring tokens: complete, and no read of the other tokens', () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  before(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  });
  after(async () => {
    await redis?.stop();
    await postgres?.cleanup();
  });

  test('Redis: the same commands with 10,000 other tokens as without; the index costs little memory', {
    timeout: 300_000,
  }, async (t) => {
    const client = redis.client();
    const store = new RedisTokenStore(client, { prefix: 'paging:' });
    // A busy machine: the seeding is a load test of nothing, so no deadline of 1 s.
    const tokens = new TokenService({ store, maxTokensPerUser: Number.POSITIVE_INFINITY, timeout: 30_000 });
    const expiring = await issueMany(tokens, EXPIRING, { expiresIn: '3d' });
    const buckets = Array.from({ length: EXPIRY_BUCKETS }, (_, bucket) => store.expiryKeys(bucket)[0]);
    const bytes = (
      await Promise.all(buckets.map((key) => client.memory('USAGE', key, 'SAMPLES', '0')))
    ).reduce((sum: number, used) => sum + Number(used ?? 0), 0);
    t.diagnostic(
      `index by hard limit: ${bytes} bytes for ${EXPIRING} tokens, ${(bytes / EXPIRING).toFixed(1)} per token`,
    );

    // Its scripts sent once, so that neither run pays for loading them.
    await tokens.listExpiring({ within: '7d', limit: 1 });
    const commandsOfListing = async () => {
      const monitor = await monitorRedis(redis.port);
      try {
        const listed = await pageThrough(tokens);
        await monitor.settle(client);
        return { ...listed, commands: monitor.commands.length };
      } finally {
        monitor.stop();
      }
    };
    const alone = await commandsOfListing();
    assertComplete(alone.ids, expiring);
    // Others: half with a hard limit beyond the window (in the index), half sliding only (not in it).
    await issueMany(tokens, OTHERS / 2, { expiresIn: '30d' });
    await issueMany(tokens, OTHERS / 2, { autoRefresh: '1d' });
    const among = await commandsOfListing();
    assertComplete(among.ids, expiring);
    t.diagnostic(
      `${alone.pages} pages: ${alone.commands} commands alone, ${among.commands} among ${OTHERS} others`,
    );
    assert.equal(among.pages, alone.pages);
    assert.equal(among.commands, alone.commands, 'the other tokens cost no command');
    client.disconnect();
  });

  test('PostgreSQL: the same statements with 10,000 other tokens as without, through the index', {
    timeout: 300_000,
  }, async (t) => {
    const pool = testPool(postgres);
    try {
      const store = new PostgresTokenStore(pool, { table: uniqueTable() });
      await store.createSchema();
      // A busy machine: the seeding is a load test of nothing, so no deadline of 1 s.
      const tokens = new TokenService({ store, maxTokensPerUser: Number.POSITIVE_INFINITY, timeout: 30_000 });
      const expiring = await issueMany(tokens, EXPIRING, { expiresIn: '3d' });
      // Statements that read the index by hard limit, and only those, name `hard_expires_at <=`.
      const marker = `"${store.table}"\nWHERE hard_expires_at IS NOT NULL`;
      const statementsOfListing = async () => {
        const before = await postgres.statementCount(marker);
        const listed = await pageThrough(tokens);
        return { ...listed, statements: (await postgres.statementCount(marker)) - before };
      };
      const alone = await statementsOfListing();
      assertComplete(alone.ids, expiring);
      await issueMany(tokens, OTHERS / 2, { expiresIn: '30d' });
      await issueMany(tokens, OTHERS / 2, { autoRefresh: '1d' });
      await pool.query(`ANALYZE "${store.table}"`);
      const among = await statementsOfListing();
      assertComplete(among.ids, expiring);
      t.diagnostic(
        `${alone.pages} pages: ${alone.statements} statements alone, ${among.statements} among others`,
      );
      assert.equal(among.statements, alone.pages);
      assert.equal(alone.statements, alone.pages, 'one statement a page');
      const now = Date.now();
      const plan = await pool.query(
        `EXPLAIN SELECT id FROM "${store.table}" WHERE hard_expires_at IS NOT NULL AND revoked_at IS NULL
         AND hard_expires_at > ${now} AND hard_expires_at <= ${now + 7 * DAY} AND expires_at > ${now}
         ORDER BY hard_expires_at, id LIMIT 1001`,
      );
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      assert.match(text, new RegExp(`Index Scan using ${store.table}_by_hard_limit`), text);
      assert.doesNotMatch(text, /Seq Scan/, text);
    } finally {
      await pool.end();
    }
  });
});
