// The layout ARCHITECTURE.md draws, held: lib/ in floors, each folder saying what lives there, and no
// file so long that a reader cannot hold it (the import rules between floors are `npm run deps`).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '..');
const lib = join(root, 'lib');
const MAX_LINES = 400;
const FLOORS = ['check', 'manage', 'http'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

test(`no file of lib/ is over ${MAX_LINES} lines`, () => {
  const files = sources(lib);
  assert.ok(files.length > 30, `lib/ has ${files.length} files: the walk found too few`);
  const long = files
    .map((file) => ({ file: relative(root, file), lines: readFileSync(file, 'utf8').split('\n').length }))
    .filter(({ lines }) => lines > MAX_LINES);
  assert.deepEqual(long, []);
});

test('lib/ holds the floors ARCHITECTURE.md names, each with a README, and nothing else in folders', () => {
  const folders = readdirSync(lib, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  assert.deepEqual(folders, [...FLOORS].sort());
  const architecture = readFileSync(join(root, 'ARCHITECTURE.md'), 'utf8');
  for (const floor of FLOORS) {
    assert.ok(existsSync(join(lib, floor, 'README.md')), `lib/${floor}/README.md is missing`);
    assert.ok(architecture.includes(`lib/${floor}/`), `ARCHITECTURE.md does not name lib/${floor}/`);
  }
  assert.ok(existsSync(join(lib, 'README.md')), 'lib/README.md is missing');
});

test('every lib/ file ARCHITECTURE.md names exists', () => {
  const architecture = readFileSync(join(root, 'ARCHITECTURE.md'), 'utf8');
  const named = [...architecture.matchAll(/`(lib\/[a-z/-]+\.ts)`/g)].map((match) => match[1]!);
  assert.ok(named.length > 20, `ARCHITECTURE.md names ${named.length} files of lib/`);
  assert.deepEqual(
    named.filter((file) => !existsSync(join(root, file))),
    [],
  );
});
