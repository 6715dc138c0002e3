// Smoke test of `npm run bench`: the whole harness runs end to end (its own Redis, seeding through
// the library, six server processes, the load generator, the flood, the report) and writes its JSON.
// A tiny, light load (few connections, fractions of a second) so that it neither takes long nor
// starves the tests running beside it; it checks what the run did, never how fast anything was.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'pat-bench-smoke-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Results {
  note: string;
  servers: {
    id: number;
    median: Record<string, number>;
    ratioToFloor: { reqPerSec: number; cpuUsPerRequest: number } | null;
    rounds: unknown[];
    warnings: string[];
  }[];
  floods: { id: number; requests: number; redisCalls: number; redisCommandsSent: number }[];
  memory: { bytesPerToken: number; sampledTokens: number } | null;
  targets: { target: string; met: boolean | null }[];
}

// A tiny, light run: one short round, few tokens and connections.
const benchArgs = (...extra: string[]) => [
  '--import',
  'tsx',
  '--conditions=personal-token-auth-source',
  'bench/run.ts',
  '--quick',
  '--tokens',
  '200',
  '--rounds',
  '1',
  '--duration',
  '0.5',
  '--warmup',
  '0.2',
  '--flood',
  '0.3',
  '--connections',
  '4',
  ...extra,
];

test('npm run bench -- --quick --with-baselines runs end to end and writes results.json', {
  timeout: 180_000,
}, async () => {
  const out = join(dir, 'results.json');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    benchArgs('--with-baselines', '--out', out),
    { cwd: root, timeout: 170_000, maxBuffer: 10 * 1024 * 1024 },
  );
  assert.match(stdout, /Only ratios within one run mean anything/);
  assert.match(stdout, /Targets:/);
  // Token text never reaches the output.
  assert.doesNotMatch(stdout, /pat_[0-9a-f]{16}/);

  const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
  assert.equal(results.note.includes('Only ratios'), true);
  assert.deepEqual(
    results.servers.map((server) => server.id),
    [1, 2, 3, 4, 5, 6, 9, 10],
  );
  for (const server of results.servers) {
    assert.equal(server.rounds.length, 1, `server ${server.id} ran one round`);
    // Every authenticated request succeeded: the harness measured what it claims to measure.
    assert.deepEqual(server.warnings, [], `server ${server.id}: ${server.warnings.join('; ')}`);
    assert.ok(server.ratioToFloor, `server ${server.id} has ratios to the floor`);
    assert.equal(server.ratioToFloor.reqPerSec > 0, true);
  }
  assert.deepEqual(
    results.floods.map((flood) => flood.id),
    [3, 4],
  );
  for (const flood of results.floods)
    assert.equal(flood.requests > 0, true, `flood ${flood.id} sent requests`);
  assert.ok(results.memory);
  assert.equal(results.memory.sampledTokens, 200);
  assert.equal(results.targets.length > 0, true);
  // No JSON figure is a token either.
  assert.doesNotMatch(readFileSync(out, 'utf8'), /pat_[0-9a-f]{16}/);
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
