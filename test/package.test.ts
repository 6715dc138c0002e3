import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

// The package as consumers get it: `npm pack`, installed into throw-away ESM and CommonJS
// projects, loaded with `import` and `require`, and type-checked from both.
const root = join(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tsc = join(root, 'node_modules/typescript/bin/tsc');

describe('the packed package', { timeout: 240_000 }, () => {
  let work: string;
  let consumer: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'pta-pack-'));
    // --ignore-scripts: dist/ was built before the run (scripts/run-tests.mjs); rebuilding here would
    // empty it while other test files use it.
    execFileSync(npm, ['pack', '--ignore-scripts', '--pack-destination', work, '--silent'], {
      cwd: root,
      stdio: 'pipe',
    });
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack made a tarball');
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
        join(work, tarball),
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
       const { MemoryTokenStore } = require('personal-token-auth/adapters/memory');${check}`,
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
       import { createRequire } from 'node:module';
       if (createRequire(import.meta.url)('personal-token-auth').TokenService !== TokenService) throw new Error('two copies');
       ${check}`,
    );
    assert.equal(
      execFileSync(process.execPath, ['use.mjs'], { cwd: consumer }).toString().trim(),
      'ok 600000',
    );
  });

  test('type declarations work for TypeScript consumers, ESM and CommonJS', () => {
    const source = `
      import express from 'express';
      import { personalTokenAuth, TokenService, requireNodePermission, type TokenInfo } from 'personal-token-auth';
      import { MemoryTokenStore } from 'personal-token-auth/adapters/memory';
      const tokens = new TokenService({ store: new MemoryTokenStore() });
      const app = express();
      app.use('/api', personalTokenAuth({ tokens }));
      app.get('/api/nodes/:id', requireNodePermission((req) => String(req.params.id), 'r'), (req, res) => {
        const id: string | undefined = req.authInfo?.tokenId;
        res.json({ id });
      });
      export const listed: Promise<TokenInfo[]> = tokens.list('admin');
    `;
    // skipLibCheck, as most projects: @types/passport-http-bearer drags in @types/koa, whose own
    // declarations do not compile against current dependencies. Our declarations are still used.
    writeFileSync(join(consumer, 'typed.mts'), source);
    writeFileSync(join(consumer, 'typed.cts'), source);
    execFileSync(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        'typed.mts',
        'typed.cts',
      ],
      { cwd: consumer, stdio: 'pipe' },
    );
  });

  test('the personal-token bin runs from the installed package and from the repository root', () => {
    for (const cwd of [consumer, root]) {
      const help = execFileSync(npm, ['exec', '--no', '--', 'personal-token', '--help'], { cwd }).toString();
      assert.match(help, /^Usage: personal-token /, cwd);
    }
  });

  test('the tarball ships compiled code and no tests', () => {
    const listing = execFileSync('tar', [
      '-tzf',
      join(work, readdirSync(work).find((n) => n.endsWith('.tgz'))!),
    ]).toString();
    assert.match(listing, /package\/dist\/lib\/index\.js/);
    assert.match(listing, /package\/dist\/esm\/index\.mjs/);
    assert.match(listing, /package\/dist\/lib\/index\.d\.ts/);
    assert.doesNotMatch(listing, /package\/test\//);
  });
});
