// Every TypeScript block of the README and of docs/*.md compiles as written, in a strict ESM project
// that uses the packed package as a consumer would, against Express 5 and against Express 4.
//
// The convention for the Markdown: a block tagged `ts` must compile on its own (its imports, and a
// `declare` for what stands for the reader's app); a block tagged `ts fragment` is deliberately
// partial (a signature, an excerpt) and is not compiled. Keep fragments rare. Any other info string
// that starts with `ts` or `typescript` is refused, so that a typo cannot exempt a block.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { codeBlocks, compileBlockProject, markdownFiles, writeBlockProject } from './support/markdown-blocks';
import { packInto } from './support/packed-package';

const root = join(__dirname, '..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

const blocks = markdownFiles().flatMap(codeBlocks);
const compiled = blocks.filter((block) => block.info === 'ts');

describe('the TypeScript in the README and docs/', { timeout: 600_000 }, () => {
  let work: string;
  let packed: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'pta-readme-'));
    // The package as npm ships it, unpacked where a consumer's node_modules will point.
    const tarball = packInto(work);
    packed = join(work, 'package');
    execFileSync('tar', ['-xzf', tarball, '-C', work]);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('every TypeScript block is tagged ts (compiled) or ts fragment (not)', () => {
    const unknown = blocks.filter(
      (block) => /^(ts|typescript|tsx)\b/i.test(block.info) && !['ts', 'ts fragment'].includes(block.info),
    );
    assert.deepEqual(
      unknown.map((block) => `${block.where} ${block.info}`),
      [],
    );
    assert.ok(compiled.length >= 5, `only ${compiled.length} blocks to compile`);
  });

  /**
   * A consumer project: the blocks as its source files, the packed package in its node_modules, and
   * the repository's installed packages beside it, with the Express major asked for.
   */
  function consumerProject(express: 'express' | 'express4', typesExpress: 'express' | 'express4'): string {
    const project = join(work, `consumer-${express}`);
    const modules = join(project, 'node_modules');
    mkdirSync(join(modules, '@types'), { recursive: true });
    const own = new Set([
      'personal-token-auth',
      'express',
      'express4',
      '@types',
      '.bin',
      '.package-lock.json',
    ]);
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (own.has(name)) continue;
      if (name.startsWith('@')) {
        mkdirSync(join(modules, name), { recursive: true });
        for (const scoped of readdirSync(join(root, 'node_modules', name))) {
          symlinkSync(join(root, 'node_modules', name, scoped), join(modules, name, scoped));
        }
      } else {
        symlinkSync(join(root, 'node_modules', name), join(modules, name));
      }
    }
    for (const name of readdirSync(join(root, 'node_modules/@types'))) {
      if (name === 'express' || name === 'express4') continue;
      symlinkSync(join(root, 'node_modules/@types', name), join(modules, '@types', name));
    }
    symlinkSync(join(root, 'node_modules', express), join(modules, 'express'));
    symlinkSync(join(root, 'node_modules/@types', typesExpress), join(modules, '@types/express'));
    symlinkSync(packed, join(modules, 'personal-token-auth'));

    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    // Resolve each package from where the project sees it, so that @types/passport and the package
    // both meet this project's Express types.
    writeBlockProject(project, compiled, { preserveSymlinks: true });
    return project;
  }

  const compile = (project: string) => compileBlockProject(tsc, project, compiled);

  test('compile against Express 5 and its types', () => {
    assert.equal(compile(consumerProject('express', 'express')), '');
  });

  test('compile against Express 4 and its types', () => {
    assert.equal(compile(consumerProject('express4', 'express4')), '');
  });
});
