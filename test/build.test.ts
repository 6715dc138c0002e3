import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

// `npx personal-token`, and tests that load dist/, must keep working while a build runs (`npm pack`
// builds): the build writes beside dist/ and renames its result into place.
const root = join(__dirname, '..');
const watched = [
  'dist/cli/main.js',
  'dist/lib/index.js',
  'dist/esm/index.mjs',
  'dist/require/index.d.ts',
  'dist/testing/index.js',
  'dist/esm/testing/node-test.mjs',
];

function build(): Promise<number | null> {
  const child = spawn(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

test('a build never leaves dist/ missing or half-written, and leaves nothing beside it', async () => {
  if (!watched.every((file) => existsSync(join(root, file)))) assert.equal(await build(), 0);
  const missing = new Set<string>();
  const watch = setInterval(() => {
    for (const file of watched) if (!existsSync(join(root, file))) missing.add(file);
  }, 2);
  const code = await build().finally(() => clearInterval(watch));
  assert.equal(code, 0);
  assert.deepEqual([...missing], [], 'files of dist/ that went missing during the build');
  assert.deepEqual(
    readdirSync(root).filter((name) => name.startsWith('dist.')),
    [],
    'folders the build left beside dist/',
  );
});
