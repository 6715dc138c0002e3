// `npm run check:hot-path`: the instructions the library executes per request, counted under valgrind's
// callgrind (unlike time, independent of the machine's load), held to the limits of bench/hot-path.ts against floors
// counted in the same run. The same run also counts server 3's middleware behind an `async` wrapper
// and asserts that the very same limit catches it: proof, on every run, that the guard can fail.
// Without valgrind this fails (it never skips): a guard that silently does not run guards nothing.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GUARD_PLAN, HOT_PATH_LIMITS } from '../bench/hot-path';
import { callgrindAvailable, countInstructions } from '../bench/instructions';
import { seed } from '../bench/seed';
import { type Row, SERVERS } from '../bench/server-list';
import { startServer } from '../bench/server-process';
import { STORES } from '../bench/stores';
import { ownedTempDir, removeTempDir } from './support/owned-processes';

const dir = ownedTempDir('hot-path');
after(() => removeTempDir(dir));

// Few tokens, each checked once before the counts (as in an app whose tokens are in use): the counted
// requests are checks of tokens in use, and the cached server's are all cache hits.
const TOKENS = 100;
const workload = { key: 'guard', tokens: TOKENS };
const rowOf = (key: string): Row => ({
  server: SERVERS.find((server) => server.key === key)!,
  workload,
  before: false,
});

test('the hot path stays within its instruction limits, and an async wrapper is caught', {
  // Under valgrind a server takes tens of seconds to start and a request tens of ms, minutes on a
  // machine busy with other work (15 minutes were seen): a hang guard only, nothing here depends on time.
  timeout: 1_800_000,
}, async (t) => {
  if (!(await callgrindAvailable()))
    assert.fail(
      'the hot path guard needs valgrind (valgrind and callgrind_control on PATH); Debian: apt-get install valgrind',
    );
  const redis = await STORES.redis();
  after(() => redis.stop());
  const library = createRequire(join(__dirname, '..', 'package.json'));
  const files = { sliding: join(dir, 'sliding.tsv'), hard: join(dir, 'hard.tsv') };
  // The floor's keys hold the same token texts as the library's records.
  await redis.writeLogins!(
    await seed(redis, library, { count: TOKENS, kind: 'sliding', file: files.sliding }),
  );
  await seed(redis, library, { count: TOKENS, kind: 'hard', file: files.hard });

  const keys = [...new Set(HOT_PATH_LIMITS.flatMap(({ server, floor }) => [server, floor])), 'async-wrapped'];
  const rows = keys.map(rowOf);
  const counts = await countInstructions(rows, {
    start: (row, launcher) => startServer(row.server.file, redis.env, launcher),
    request: (row, url) => ({
      url,
      kind: row.server.load,
      credentials: files[row.server.tokens ?? 'sliding'],
      tokens: TOKENS,
      connections: GUARD_PLAN.connections,
      durationSec: 0,
    }),
    dir: join(dir, 'callgrind'),
    plan: GUARD_PLAN,
    log: (row, perRequest) =>
      t.diagnostic(
        `server ${row.server.id} ${row.server.key}: ${Math.round(perRequest)} instructions/request`,
      ),
  });
  const perRequest = (key: string) => {
    const count = counts[keys.indexOf(key)]!;
    // A request refused or failed runs another path than the one the limit is about.
    assert.equal(count.failed, 0, `server ${key}: ${count.failed} responses not 2xx while counted`);
    return count.perRequest;
  };

  for (const limit of HOT_PATH_LIMITS) {
    const ratio = perRequest(limit.server) / perRequest(limit.floor);
    t.diagnostic(`${limit.what}: ${ratio.toFixed(3)}× (limit ${limit.atMost}×, goal ${limit.goal}×)`);
    assert.ok(
      ratio <= limit.atMost,
      `${limit.what}: ${ratio.toFixed(3)}× the instructions per request, over the limit of ${limit.atMost}×`,
    );
  }
  // The same rule as the uncached check's, applied to the same middleware behind an async wrapper.
  const uncached = HOT_PATH_LIMITS.find((limit) => limit.server === 'bearer')!;
  const wrapped = perRequest('async-wrapped') / perRequest(uncached.floor);
  t.diagnostic(`the async-wrapped middleware (server 12): ${wrapped.toFixed(3)}× server 9`);
  assert.ok(
    wrapped > uncached.atMost,
    `an async wrapper around the middleware (${wrapped.toFixed(3)}×) passes the limit of ${uncached.atMost}×: the guard would not catch it`,
  );
});
