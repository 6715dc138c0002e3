#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner (tsx compiles TypeScript on the fly).
// Node 20's `--test` does not expand globs itself, hence this script.
// Usage: npm test [-- name-filter ...]  (a filter keeps the files whose path contains it)
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
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

const files = findTests(join(root, 'test'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--conditions=source',
    '--test',
    '--test-concurrency=3',
    '--test-timeout=240000',
    '--test-reporter=spec',
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
