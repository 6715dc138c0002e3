import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { npm, packInto } from './support/packed-package';

// The package as consumers get it: `npm pack`, installed into throw-away ESM and CommonJS
// projects, loaded with `import` and `require`, and type-checked from both.
const root = join(__dirname, '..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

describe('the packed package', { timeout: 600_000 }, () => {
  let work: string;
  let consumer: string;
  let tarball: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'pta-pack-'));
    tarball = packInto(work);
    consumer = join(work, 'consumer');
    execFileSync('mkdir', ['-p', consumer]);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    execFileSync(
      npm,
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--silent',
        '--prefer-offline',
        tarball,
        'express@5',
        '@types/express@5',
        '@types/node@20',
      ],
      { cwd: consumer, stdio: 'pipe' },
    );
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const check = `
    if (typeof personalTokenAuth !== 'function' || typeof TokenService !== 'function') throw new Error('core exports missing');
    if (typeof RedisTokenStore !== 'function' || typeof MemoryTokenStore !== 'function') throw new Error('adapters missing');
    if (typeof PostgresTokenStore !== 'function') throw new Error('PostgreSQL adapter missing');
    if (typeof tokenRouter !== 'function') throw new Error('tokenRouter missing');
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    tokens.issue({ user: 'admin', expiresIn: '1h' }).then(async ({ token }) => {
      const info = await tokens.verify(token);
      if (!info || info.user !== 'admin') throw new Error('verify failed');
      console.log('ok', parseDuration('10m'));
    });`;

  test('require() from a CommonJS project', () => {
    writeFileSync(
      join(consumer, 'use.cjs'),
      `const { personalTokenAuth, TokenService, parseDuration, tokenRouter } = require('personal-token-auth');
       const { RedisTokenStore } = require('personal-token-auth/adapters/redis');
       const { MemoryTokenStore } = require('personal-token-auth/adapters/memory');
       const { PostgresTokenStore } = require('personal-token-auth/adapters/postgres');${check}`,
    );
    assert.equal(
      execFileSync(process.execPath, ['use.cjs'], { cwd: consumer }).toString().trim(),
      'ok 600000',
    );
  });

  test('import from an ESM project, sharing one copy of the classes with require()', () => {
    writeFileSync(
      join(consumer, 'use.mjs'),
      `import { personalTokenAuth, TokenService, parseDuration, tokenRouter } from 'personal-token-auth';
       import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
       import { MemoryTokenStore } from 'personal-token-auth/adapters/memory';
       import { PostgresTokenStore } from 'personal-token-auth/adapters/postgres';
       import { createRequire } from 'node:module';
       if (createRequire(import.meta.url)('personal-token-auth').TokenService !== TokenService) throw new Error('two copies');
       ${check}`,
    );
    assert.equal(
      execFileSync(process.execPath, ['use.mjs'], { cwd: consumer }).toString().trim(),
      'ok 600000',
    );
  });

  /** tsc as a strict consumer runs it: its own types checked and every library's too (no skipLibCheck). */
  function typecheck(files: string[]): { ok: boolean; output: string } {
    try {
      execFileSync(
        process.execPath,
        [
          tsc,
          '--noEmit',
          '--strict',
          '--skipLibCheck',
          'false',
          '--module',
          'nodenext',
          '--moduleResolution',
          'nodenext',
          '--target',
          'es2022',
          '--types',
          'node',
          ...files,
        ],
        { cwd: consumer, stdio: 'pipe' },
      );
      return { ok: true, output: '' };
    } catch (error) {
      const { stdout, stderr } = error as { stdout: Buffer; stderr: Buffer };
      return { ok: false, output: `${stdout}${stderr}` };
    }
  }

  test('a strict TypeScript consumer compiles, ESM and CommonJS, with skipLibCheck off', () => {
    const source = `
      import express from 'express';
      import {
        personalToken, personalTokenAuth, TokenService, requireNodePermission, type TokenInfo,
      } from 'personal-token-auth';
      import { MemoryTokenStore } from 'personal-token-auth/adapters/memory';
      import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
      import { checkTokenStore, type StoreHarness } from 'personal-token-auth/testing';
      import { testTokenStore } from 'personal-token-auth/testing/node-test';
      import { PostgresTokenStore, type PostgresTokenStorePool } from 'personal-token-auth/adapters/postgres';
      // Without pg installed: the store's types need neither pg nor @types/pg.
      declare const pool: PostgresTokenStorePool;
      export const postgres = new PostgresTokenStore(pool, { table: 'tokens' });
      declare global {
        namespace Express {
          interface User { login: string }
        }
      }
      const tokens = new TokenService({ store: new MemoryTokenStore() });
      const app = express();
      app.use('/api', personalTokenAuth({ tokens }));
      app.get('/api/nodes/:id', requireNodePermission((req) => req.params.id, 'r'), (req, res) => {
        const { tokenId, scopes, expiresAt } = personalToken(req);
        const login: string | undefined = req.user?.login;
        const id: string | undefined = req.authInfo?.tokenId;
        res.json({ tokenId, scopes, expiresAt, login, id });
      });
      export const listed: Promise<TokenInfo[]> = tokens.list('admin');
      export type Store = RedisTokenStore;
      const harness = async (): Promise<StoreHarness> => ({
        store: new MemoryTokenStore(),
        advance: async () => {},
        cleanup: async () => {},
      });
      export const report: Promise<{ passed: string[]; failed: { name: string; error: unknown }[] }> =
        checkTokenStore(harness);
      export const wrapper: (name: string, make: () => Promise<StoreHarness>) => void = testTokenStore;
    `;
    writeFileSync(join(consumer, 'typed.mts'), source);
    writeFileSync(join(consumer, 'typed.cts'), source);
    const result = typecheck(['typed.mts', 'typed.cts']);
    assert.ok(result.ok, result.output);
  });

  // A store's author runs the suite from the package: both faces, on the memory store, which fails
  // nothing. The runner-agnostic entry loads no test runner (it must run under any).
  const conformance = `
    let time = Date.UTC(2026, 0, 1);
    const harness = async () => ({
      store: new MemoryTokenStore({ now: () => time }),
      advance: async (ms) => { time += ms; },
      cleanup: async () => {},
    });
    checkTokenStore(harness).then((report) => {
      if (report.failed.length > 0) throw report.failed[0].error;
      if (typeof testTokenStore !== 'function') throw new Error('node-test wrapper missing');
      console.log('conformance', report.passed.length > 20);
    });`;

  test('personal-token-auth/testing runs from require() and import, without node:test', () => {
    writeFileSync(
      join(consumer, 'conformance.cjs'),
      `const { MemoryTokenStore } = require('personal-token-auth/adapters/memory');
       const { checkTokenStore } = require('personal-token-auth/testing');
       const testRunnerLoaded = Object.keys(require.cache).some((file) => file.includes('node-test'));
       if (testRunnerLoaded) throw new Error('the node-test wrapper was loaded');
       const { testTokenStore } = require('personal-token-auth/testing/node-test');${conformance}`,
    );
    writeFileSync(
      join(consumer, 'conformance.mjs'),
      `import { MemoryTokenStore } from 'personal-token-auth/adapters/memory';
       import { checkTokenStore } from 'personal-token-auth/testing';
       import { testTokenStore } from 'personal-token-auth/testing/node-test';${conformance}`,
    );
    for (const file of ['conformance.cjs', 'conformance.mjs']) {
      assert.equal(
        execFileSync(process.execPath, [file], { cwd: consumer }).toString().trim(),
        'conformance true',
        file,
      );
    }
    const testing = join(consumer, 'node_modules/personal-token-auth/dist/testing');
    const compiled = execFileSync('find', [testing, '-name', '*.js']).toString().trim().split('\n');
    for (const file of compiled.filter((name) => !name.endsWith('node-test.js'))) {
      assert.doesNotMatch(readFileSync(file, 'utf8'), /require\("node:test"\)/, file);
    }
  });

  test('a default import is refused by the types, as it would fail at run time', () => {
    const source = `import pta from 'personal-token-auth';\nexport const used = pta;\n`;
    writeFileSync(join(consumer, 'default.mts'), source);
    writeFileSync(join(consumer, 'default.cts'), source);
    for (const file of ['default.mts', 'default.cts']) {
      const result = typecheck([file]);
      assert.equal(result.ok, false, `${file} compiled`);
      assert.match(result.output, /has no default export/, file);
    }
    writeFileSync(join(consumer, 'default.mjs'), source);
    assert.throws(
      () => execFileSync(process.execPath, ['default.mjs'], { cwd: consumer, stdio: 'pipe' }),
      /does not provide an export named 'default'/,
    );
  });

  test('an app on the memory store installs no Redis or PostgreSQL client (optional peers)', () => {
    assert.equal(existsSync(join(consumer, 'node_modules/ioredis')), false, 'ioredis installed');
    assert.equal(existsSync(join(consumer, 'node_modules/pg')), false, 'pg installed');
  });

  test('without ioredis, the zero-argument default and the CLI name the package to install', () => {
    writeFileSync(
      join(consumer, 'default-store.cjs'),
      `const { personalTokenAuth } = require('personal-token-auth');
       try { personalTokenAuth(); console.log('no error'); }
       catch (error) { console.log(error.code, error.packageName, error.message); }`,
    );
    const output = execFileSync(process.execPath, ['default-store.cjs'], { cwd: consumer }).toString().trim();
    assert.match(output, /^ERR_MISSING_DEPENDENCY ioredis .*npm install ioredis$/);
    const cli = spawnSync(npm, ['exec', '--no', '--', 'personal-token', 'list', '-u', 'admin'], {
      cwd: consumer,
      encoding: 'utf8',
    });
    assert.equal(cli.status, 2, cli.stderr);
    assert.match(cli.stderr, /needs the ioredis package, which is not installed: npm install ioredis/);
  });

  test('installing runs no script of the package', () => {
    const installed = JSON.parse(
      readFileSync(join(consumer, 'node_modules/personal-token-auth/package.json'), 'utf8'),
    ) as { scripts?: Record<string, string> };
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
      assert.equal(installed.scripts?.[script], undefined, script);
    }
  });

  test('the personal-token bin runs from the installed package and from the repository root', () => {
    for (const cwd of [consumer, root]) {
      const help = execFileSync(npm, ['exec', '--no', '--', 'personal-token', '--help'], { cwd }).toString();
      assert.match(help, /^Usage: personal-token /, cwd);
    }
  });

  test('the tarball ships compiled code and no tests', () => {
    const listing = execFileSync('tar', ['-tzf', tarball]).toString();
    assert.match(listing, /package\/dist\/lib\/index\.js/);
    assert.match(listing, /package\/dist\/esm\/index\.mjs/);
    assert.match(listing, /package\/dist\/lib\/index\.d\.ts/);
    assert.doesNotMatch(listing, /package\/test\//);
  });
});
