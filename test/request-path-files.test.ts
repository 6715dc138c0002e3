import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { track } from './support/owned-processes';
import { connectTestRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from './support/redis';
import type { ProbeReport, Variant } from './support/request-path-probe';

// The most files of lib/ and adapters/ (in whatever folders) whose code one authenticated Bearer
// request may run through personalTokenAuth with default options on the Redis store: a reader
// following a request should have few files to open. With the cache, the hit's own file comes on top.
const MAX_FILES: Record<Variant, number> = { uncached: 5, cached: 6 };

// Which files ran is read from V8's precise coverage of a child process (see the probe): a count of
// calls, so it does not depend on the machine's speed or load.
const PROBE = join(__dirname, 'support', 'request-path-probe.ts');

async function probe(variant: Variant, prefix: string): Promise<ProbeReport> {
  const child = track(
    spawn(
      process.execPath,
      [
        // Baseline code at most: the optimizing compilers inline small functions, and the calls of an
        // inlined function are not counted, so which files showed up would depend on when the compiler,
        // on a thread of its own, was done (with 5,000 warm-up requests, three files went missing).
        '--max-opt=1',
        '--import',
        'tsx',
        '--conditions=personal-token-auth-source',
        PROBE,
        variant,
      ],
      {
        env: { ...process.env, REDIS_URL: TEST_REDIS_URL, PREFIX: prefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ),
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `the probe (${variant}) failed:\n${stderr}${stdout}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ProbeReport;
}

for (const variant of ['uncached', 'cached'] as const) {
  test(`one authenticated Bearer request (${variant}) runs code in at most ${MAX_FILES[variant]} files of lib/ and adapters/`, async (t) => {
    const prefix = uniquePrefix(`request-path-${variant}`);
    t.after(async () => {
      const redis = connectTestRedis();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    });
    const report = await probe(variant, prefix);
    const files = report.files.map(({ file }) => file);
    t.diagnostic(`${variant}: ${files.length} files (at most ${MAX_FILES[variant]})`);
    for (const { file, functions } of report.files) t.diagnostic(`  ${file}: ${functions.join(', ')}`);

    // The counted request is the path the limit is about: accepted, with the user set...
    assert.equal(report.status, 200);
    assert.equal(report.login, 'ada', 'the middleware set req.user to the token owner');
    // ...checked against the store without the cache, and a hit with it.
    assert.equal(
      report.storeCalls,
      variant === 'cached' ? 0 : 1,
      'store verify calls of the counted request',
    );
    assert.ok(
      files.length <= MAX_FILES[variant],
      `${files.length} files ran, more than ${MAX_FILES[variant]}: ${files.join(', ')}`,
    );
  });
}
