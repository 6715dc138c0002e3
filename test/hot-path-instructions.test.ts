// The hot path's guard: the instructions the library executes per request, counted under valgrind's
// callgrind (unlike time, independent of the machine's load), held to the limits of bench/hot-path.ts
// against floors counted in the same process, and the rule that the request path awaits nothing. The
// same run counts server 3's middleware behind an `async` wrapper (server 12) and asserts that the
// guard catches it: proof, on every run, that the guard can fail.
// Without valgrind this fails (it never skips): a guard that silently does not run guards nothing.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AWAITS_PER_REQUEST_AT_MOST, HOT_PATH_LIMITS, HOT_PATH_PLAN } from '../bench/hot-path';
import { countHotPath } from '../bench/hot-path-count';
import { callgrindAvailable } from '../bench/instructions';
import { seed } from '../bench/seed';
import { SERVERS } from '../bench/server-list';
import { STORES } from '../bench/stores';
import { ownedTempDir, removeTempDir } from './support/owned-processes';

const dir = ownedTempDir('hot-path');
after(() => removeTempDir(dir));

// Few tokens, each checked once before the counts (as in an app whose tokens are in use): the counted
// requests are checks of tokens in use, and the cached server's are all cache hits.
const TOKENS = 100;
const WRAPPED = 'async-wrapped';

test('the hot path stays within its instruction limits and awaits nothing, and an async wrapper is caught', {
  // Under valgrind, about 2 minutes with the machine's CPUs shared; a hang guard only, nothing here
  // depends on time.
  timeout: 900_000,
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

  const guarded = HOT_PATH_LIMITS.map((limit) => limit.server);
  const keys = [...new Set(HOT_PATH_LIMITS.flatMap(({ server, floor }) => [floor, server])), WRAPPED];
  const counts = await countHotPath(
    keys.map((key) => {
      const server = SERVERS.find((definition) => definition.key === key)!;
      return { server, credentials: files[server.tokens ?? 'sliding'] };
    }),
    {
      store: redis,
      tokens: TOKENS,
      plan: HOT_PATH_PLAN,
      dir: join(dir, 'callgrind'),
      log: (line) => t.diagnostic(`${line} (${Math.round(performance.now() / 1000)} s)`),
    },
  );
  const countOf = (key: string) => counts[keys.indexOf(key)]!;
  for (const { server, windows, hot, perRequest, awaitsPerRequest, failed } of counts) {
    const all = windows.map(({ instructions, awaits, commands }) => {
      const mark = hot.some((window) => window.instructions === instructions) ? '' : ' (not hot)';
      return `${Math.round(instructions)} (${awaits.toFixed(2)} awaits, ${commands.toFixed(2)} commands)${mark}`;
    });
    t.diagnostic(
      `server ${server.id} ${server.key}: ${Math.round(perRequest)} instructions/request, ${awaitsPerRequest.toFixed(2)} awaits/request; windows: ${all.join(', ')}`,
    );
    // A request refused or failed runs another path than the one the limits are about.
    assert.equal(failed, 0, `server ${server.key}: ${failed} responses not 2xx while counted`);
  }
  const ratio = (server: string, floor: string) => countOf(server).perRequest / countOf(floor).perRequest;

  for (const limit of HOT_PATH_LIMITS) {
    const value = ratio(limit.server, limit.floor);
    t.diagnostic(`${limit.what}: ${value.toFixed(3)}× (limit ${limit.atMost}×, goal ${limit.goal}×)`);
    assert.ok(
      value <= limit.atMost,
      `${limit.what}: ${value.toFixed(3)}× the instructions per request, over the limit of ${limit.atMost}×`,
    );
  }
  for (const key of guarded) {
    const { awaitsPerRequest } = countOf(key);
    assert.ok(
      awaitsPerRequest <= AWAITS_PER_REQUEST_AT_MOST,
      `server ${key} resumes ${awaitsPerRequest.toFixed(2)} async functions per request: the request path must not await`,
    );
  }

  // The same rules, applied to server 3's middleware behind an async wrapper.
  const uncached = HOT_PATH_LIMITS.find((limit) => limit.server === 'bearer')!;
  const wrapped = countOf(WRAPPED);
  t.diagnostic(
    `the async-wrapped middleware (server 12): ${ratio(WRAPPED, uncached.floor).toFixed(3)}× server 9 (${ratio(
      WRAPPED,
      'bearer',
    ).toFixed(3)}× server 3), ${wrapped.awaitsPerRequest.toFixed(2)} awaits/request`,
  );
  assert.ok(
    wrapped.awaitsPerRequest > AWAITS_PER_REQUEST_AT_MOST,
    `an async wrapper around the middleware resumes ${wrapped.awaitsPerRequest.toFixed(2)} async functions per request: the guard would not catch it`,
  );
});
