#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner (tsx compiles TypeScript on the fly).
// Node 20's `--test` does not expand globs itself, hence this script.
// Usage: npm test [-- name-filter ...]  (a filter keeps the files whose path contains it)
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findTests(path);
    return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

// The files that take longest (servers under valgrind, a packed install, a fuzz of a running app, 100,000
// tokens...), longest first.
const SLOW = [
  'test/hot-path-instructions.test.ts',
  'test/package.test.ts',
  'test/readme-code.test.ts',
  'test/store-many-tokens.test.ts',
  'test/bench-smoke.test.ts',
  'test/example-app-dav-fuzz.test.ts',
  'test/build.test.ts',
  'test/redis-store-key-lifetimes.test.ts',
  'test/reliability-durable-revocation.test.ts',
];
const slowness = (file) => {
  const rank = SLOW.indexOf(file);
  return rank === -1 ? SLOW.length : rank;
};

const files = findTests(join(root, 'test'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort()
  // The longest files first, so that they run beside the many short ones instead of after them.
  .sort((a, b) => slowness(a) - slowness(b));
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(1);
}

// Most tests talk to a real Redis; say so plainly instead of failing a hundred tests one by one.
const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUrl = new URL(testRedisUrl);
const redisAnswers = await new Promise((resolve) => {
  const socket = connect(Number(redisUrl.port || 6379), redisUrl.hostname);
  socket.setTimeout(2000, () => socket.destroy() || resolve(false));
  socket.on('error', () => resolve(false));
  socket.on('connect', () => socket.write('PING\r\n'));
  socket.on('data', (data) => {
    socket.destroy();
    resolve(data.toString().startsWith('+PONG'));
  });
});
if (!redisAnswers) {
  console.error(
    `The tests need a Redis server at ${redisUrl.host} (start one with: redis-server --daemonize yes --save '').`,
  );
  console.error('bash .ci/run installs and starts everything the tests need on Debian.');
  process.exit(1);
}

// Build dist/ once, before any test runs: the packed-package and CLI-bin tests use it, and a build
// during the run (npm pack's prepack) would empty dist/ under the feet of the others.
const build = spawn(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
const built = await new Promise((resolve) => build.on('exit', (code) => resolve(code === 0)));
if (!built) {
  console.error('the build failed: see above');
  process.exit(1);
}

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--conditions=personal-token-auth-source',
    '--test',
    '--test-concurrency=4',
    '--test-timeout=240000',
    '--test-reporter=spec',
    ...files,
  ],
  // The tests that use the defaults (`personalTokenAuth()`, the CLI without --redis) read $REDIS_URL:
  // they talk to the test Redis too, never to a server the developer's shell points at.
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TEST_REDIS_URL: testRedisUrl, REDIS_URL: testRedisUrl },
  },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
