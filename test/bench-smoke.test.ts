// Smoke test of `npm run bench`: the whole harness runs end to end (its own Redis and PostgreSQL,
// seeding through the library, every server in the registry as its own process, two workloads, the
// load, the report, --compare against a copy of this checkout) and writes its JSON. A tiny, light load (few connections,
// fractions of a second) so that it neither takes long nor starves the tests beside it; it checks what
// the run did, never how fast anything was.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { SERVERS } from '../bench/server-list';

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'pat-bench-smoke-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Results {
  rows: {
    label: string;
    median: Record<string, number | null>;
    toFloor: { reqPerSec: { median: number; lowest: number; highest: number } } | null;
    versus: { id: number } | null;
    rounds: unknown[];
    warnings: string[];
  }[];
}

const benchArgs = (...extra: string[]) => [
  '--import',
  'tsx',
  '--conditions=personal-token-auth-source',
  'bench/run.ts',
  '--quick',
  '--rounds',
  '1',
  '--duration',
  '0.3',
  '--warmup',
  '0.2',
  '--connections',
  '4',
  ...extra,
];

/** Runs the bench with these options; its stdout and its results.json, checked for what holds in every run. */
async function bench(name: string, ...args: string[]): Promise<{ stdout: string; results: Results }> {
  const out = join(dir, `${name}.json`);
  const { stdout } = await promisify(execFile)(process.execPath, benchArgs(...args, '--out', out), {
    cwd: root,
    timeout: 400_000,
    maxBuffer: 10 * 1024 * 1024,
  });
  assert.match(stdout, /Only ratios within one run mean anything/);
  assert.match(stdout, /\| server \| req\/s \| × floor \|/);
  // Token text never reaches the output, nor the JSON.
  assert.doesNotMatch(stdout, /pat_[0-9a-f]{16}/);
  const text = readFileSync(out, 'utf8');
  assert.doesNotMatch(text, /pat_[0-9a-f]{16}/);
  const results = JSON.parse(text) as Results;
  for (const row of results.rows) {
    assert.equal(row.rounds.length, 1, `${row.label} ran one round`);
    // Every request was answered 2xx: the token was checked, and accepted, as the harness claims.
    assert.deepEqual(row.warnings, [], `${row.label}: ${row.warnings.join('; ')}`);
    assert.ok(row.toFloor, `${row.label} has a ratio to the floor`);
    assert.equal(row.toFloor.reqPerSec.lowest <= row.toFloor.reqPerSec.highest, true);
    assert.equal(row.median.cpuUsPerRequest! > 0, true, `${row.label} measured its CPU`);
    // Store commands per request, counted at the store: bare Express has none to count (NaN, null in
    // JSON); the floors one GET (server 10 one SELECT); the library's uncached check at least one command (a token's first use
    // also writes its lastUsedAt); on PostgreSQL one statement, the write included; the cached
    // middleware, whose every token was checked once in the warm-up, almost none.
    const commands = row.median.storeCallsPerRequest;
    const id = Number(row.label.split(' ')[0]);
    const says = `${row.label}: ${commands} commands/request`;
    if (id === 1) assert.equal(commands, null);
    else if ([2, 5, 9, 10].includes(id)) assert.equal(Math.round(commands! * 100) / 100, 1, says);
    else if (id === 6) assert.ok(commands! < 0.1, says);
    else assert.ok(commands! >= 1, says);
    const versus = SERVERS.find((server) => server.id === id)?.versus;
    assert.equal(row.versus?.id, versus, `${row.label} is compared with what it is an alternative to`);
  }
  return { stdout, results };
}

test('npm run bench runs every server of the registry, the optional ones included', {
  timeout: 420_000,
}, async () => {
  const { stdout, results } = await bench('all', '--servers', SERVERS.map((server) => server.key).join(','));
  assert.deepEqual(
    results.rows.map((row) => row.label),
    SERVERS.map((server) => `${server.id} ${server.name}`),
  );
  // Each store seeded once per kind of token its servers are loaded with: the cached middleware's
  // hard-limit tokens beside the sliding ones, PostgreSQL through its own store.
  assert.deepEqual(stdout.match(/^seeded 1000 \w+ tokens into \w+/gm)?.sort(), [
    'seeded 1000 hard tokens into Redis',
    'seeded 1000 sliding tokens into PostgreSQL',
    'seeded 1000 sliding tokens into Redis',
  ]);
});

test('npm run bench -- --workloads 30,50 --compare <dir>: each server under each, the library servers twice', {
  timeout: 420_000,
}, async () => {
  // The other checkout: a copy of this one's library elsewhere (package.json, lib/, adapters/, and its
  // node_modules), so that the "(before)" rows load their code from another directory.
  const other = join(dir, 'other');
  for (const entry of ['package.json', 'lib', 'adapters'])
    cpSync(join(root, entry), join(other, entry), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(other, 'node_modules'));
  const { results } = await bench('compare', '--servers', '2,3', '--workloads', '30,50', '--compare', other);
  assert.deepEqual(
    results.rows.map((row) => row.label),
    [
      '2 Express + 1 raw GET (the floor), 30',
      '3 personalTokenAuth() Bearer, 30',
      '3 personalTokenAuth() Bearer, 30 (before)',
      '2 Express + 1 raw GET (the floor), 50',
      '3 personalTokenAuth() Bearer, 50',
      '3 personalTokenAuth() Bearer, 50 (before)',
    ],
  );
});

test('npm run bench -- --instructions without valgrind: one line, exit code 2, nothing started', async () => {
  // A PATH with node alone on it: no valgrind, no callgrind_control.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  const result = await promisify(execFile)(process.execPath, benchArgs('--instructions'), {
    cwd: root,
    env: { ...process.env, PATH: bin },
  }).then(
    () => assert.fail('the bench ran without valgrind'),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    'bench: --instructions needs valgrind and callgrind_control (Debian: apt-get install valgrind)\n',
  );
  assert.doesNotMatch(result.stdout, /seeding|warming/);
});

test('npm run bench refuses an unknown server, workload or checkout before starting anything', async () => {
  for (const args of [
    ['--servers', '2,99'],
    ['--workloads', 'lukewarm'],
    ['--compare', dir],
  ]) {
    const result = await promisify(execFile)(process.execPath, benchArgs(...args), { cwd: root }).then(
      () => assert.fail(`the bench ran with ${args.join(' ')}`),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    assert.equal(result.code, 1, args.join(' '));
    assert.match(result.stderr, /error: option/);
    assert.doesNotMatch(result.stdout, /seeding/);
  }
});
