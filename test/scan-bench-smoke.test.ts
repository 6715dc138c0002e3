// Smoke test of `npm run bench:scan`: on a tiny tree (2 MB rather than 200) the harness writes its
// files, plants 1,000 tokens and 10,000 look-alikes, runs the command and finds exactly the tokens.
// It checks what the run did, never how fast.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

test('bench/scan.ts finds exactly the 1,000 planted tokens among 10,000 look-alikes', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--conditions=personal-token-auth-source', 'bench/scan.ts', '2'],
    { cwd: join(__dirname, '..') },
  );
  assert.match(stdout, /^tree: \d+ files, \d+ MB, 1,000 tokens and 10,000 look-alikes planted$/m);
  assert.match(
    stdout,
    /MB\/s on one core; [\d.]+ s of CPU, \d+ MB per CPU second; found 1000 \(expected 1000\), exit 1$/m,
  );
});
