import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../..');
export const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * The package as npm would publish it: `npm pack` into `folder`; returns the tarball's path.
 * `--ignore-scripts`, because `npm test` has built dist/ before any test runs (a test file run on
 * its own builds it here, if it is missing): one build per run is enough.
 */
export function packInto(folder: string): string {
  if (!existsSync(join(root, 'dist/esm/index.d.mts'))) {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'pipe' });
  }
  execFileSync(npm, ['pack', '--ignore-scripts', '--pack-destination', folder, '--silent'], {
    cwd: root,
    stdio: 'pipe',
  });
  const tarball = readdirSync(folder).find((name) => name.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack made a tarball');
  return join(folder, tarball);
}
