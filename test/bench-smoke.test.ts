// Smoke test of `npm run bench`: the whole harness runs end to end (its own Redis, seeding through
// the library, six server processes, the load generator, the flood, the report) and writes its JSON.
// A tiny, light load (few connections, fractions of a second) so that it neither takes long nor
// starves the tests running beside it; it checks what the run did, never how fast anything was.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

test('npm run bench -- --quick runs end to end and writes results.json', { timeout: 180_000 }, async () => {
  const out = join(dir, 'results.json');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
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
      '--out',
      out,
    ],
    { cwd: root, timeout: 170_000, maxBuffer: 10 * 1024 * 1024 },
  );
  assert.match(stdout, /Only ratios within one run mean anything/);
  assert.match(stdout, /Targets \(issue 8\)/);
  // Token text never reaches the output.
  assert.doesNotMatch(stdout, /pat_[0-9a-f]{16}/);

  const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
  assert.equal(results.note.includes('Only ratios'), true);
  assert.deepEqual(
    results.servers.map((server) => server.id),
    [1, 2, 3, 4, 5, 6],
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
