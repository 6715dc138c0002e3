// The packed package against the newest published releases of what it meets in an app: Express 4
// and 5, ioredis 5 and 6, pg, passport and TypeScript, each installed fresh from the registry into a
// new consumer project. The lockfile keeps `npm test` reproducible; this check is the one that
// floats, so that an upstream release that breaks consumers fails CI here the day it ships, not in a
// user's project. Run by `npm run test:newest` (in .ci/run); it needs the npm registry.
//
// Each consumer compiles every `ts` block of the README and docs/ strictly (skipLibCheck off), then
// runs a short end-to-end check on each store: memory, Redis and PostgreSQL.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { codeBlocks, compileBlockProject, markdownFiles, writeBlockProject } from './support/markdown-blocks';
import { npm, packInto } from './support/packed-package';
import { type PostgresServer, startPostgres } from './support/postgres-server';
import { connectTestRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from './support/redis';

const run = promisify(execFile);

const compiled = markdownFiles()
  .flatMap(codeBlocks)
  .filter((block) => block.info === 'ts');

// What else the blocks import (a logger in an example...), at its newest too.
const PINNED = new Set(['express', 'ioredis', 'pg', 'passport', 'personal-token-auth']);
const OTHERS = [
  ...new Set(
    compiled.flatMap((block) =>
      [...block.code.matchAll(/from '((?:@[^/']+\/)?[^/'.][^/']*)/g)].map((match) => match[1]!),
    ),
  ),
]
  .filter((name) => !name.startsWith('node:') && !PINNED.has(name))
  .map((name) => `${name}@latest`);

interface Consumer {
  express: 4 | 5;
  ioredis: 5 | 6;
}

const CONSUMERS: Consumer[] = [
  { express: 5, ioredis: 6 },
  { express: 5, ioredis: 5 },
  { express: 4, ioredis: 6 },
  { express: 4, ioredis: 5 },
];

// The end-to-end check, as a consumer's own ESM file: one app per store, a token issued, used,
// refused when wrong, revoked and refused.
const endToEnd = `
import express from 'express';
import { Redis } from 'ioredis';
import pg from 'pg';
import { personalTokenAuth, TokenService } from 'personal-token-auth';
import { MemoryTokenStore } from 'personal-token-auth/adapters/memory';
import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
import { PostgresTokenStore } from 'personal-token-auth/adapters/postgres';

const [redisUrl, redisPrefix, postgresUrl, table] = process.argv.slice(2);
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const pool = new pg.Pool({ connectionString: postgresUrl });
const postgres = new PostgresTokenStore(pool, { table });
await postgres.createSchema();
const stores = {
  memory: new MemoryTokenStore(),
  redis: new RedisTokenStore(redis, { prefix: redisPrefix, durableRevocation: false }),
  postgres,
};
const results = {};
for (const [name, store] of Object.entries(stores)) {
  const tokens = new TokenService({ store });
  const app = express();
  app.use('/api', personalTokenAuth({ tokens }));
  app.get('/api/me', (req, res) => res.json({ login: req.user.login, id: req.authInfo.tokenId }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = 'http://127.0.0.1:' + server.address().port + '/api/me';
  const get = (authorization) => fetch(url, { headers: { authorization } }).then(async (r) => [r.status, await r.json().catch(() => null)]);
  const issued = await tokens.issue({ user: 'newest', expiresIn: '1h' });
  const [ok, body] = await get('Bearer ' + issued.token);
  const [basic] = await get('Basic ' + Buffer.from('newest:' + issued.token).toString('base64'));
  const [wrong] = await get('Bearer ' + issued.token.slice(0, -1) + (issued.token.endsWith('A') ? 'B' : 'A'));
  await tokens.revoke(issued.id);
  const [revoked] = await get('Bearer ' + issued.token);
  server.close();
  results[name] = { ok, login: body?.login, sameId: body?.id === issued.id, basic, wrong, revoked };
}
await redis.quit();
await pool.end();
console.log(JSON.stringify(results));
`;

describe('the packed package against the newest releases', { timeout: 900_000 }, () => {
  let work: string;
  let tarball: string;
  let postgres: PostgresServer;
  const redisPrefix = uniquePrefix('newest');

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'pta-newest-'));
    tarball = packInto(work);
    postgres = await startPostgres();
    // The installs wait on the registry, not the CPU: all four at once.
    await Promise.all(CONSUMERS.map((consumer) => install(consumer)));
  });

  const projectOf = (consumer: Consumer) =>
    join(work, `express${consumer.express}-ioredis${consumer.ioredis}`);

  async function install(consumer: Consumer): Promise<void> {
    const project = projectOf(consumer);
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    // Never from the cache alone: the newest of each, as a fresh machine would get it.
    await run(
      npm,
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-online',
        tarball,
        `express@${consumer.express}`,
        `@types/express@${consumer.express}`,
        `ioredis@${consumer.ioredis}`,
        // ioredis 6.1's own declarations import redis-errors, which has no types of its own: the
        // README tells TypeScript users with skipLibCheck off to add these.
        '@types/redis-errors',
        'pg@latest',
        '@types/pg@latest',
        'passport@latest',
        '@types/passport@latest',
        'typescript@latest',
        '@types/node@20',
        ...OTHERS,
      ],
      { cwd: project, maxBuffer: 16 * 1024 * 1024 },
    );
  }
  after(async () => {
    const redis = connectTestRedis();
    await deleteKeys(redis, redisPrefix);
    await redis.quit();
    await postgres?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  for (const consumer of CONSUMERS) {
    describe(`Express ${consumer.express}, ioredis ${consumer.ioredis}`, () => {
      const project = () => projectOf(consumer);

      test('exactly one copy of ioredis, the one the app asked for', async () => {
        const { stdout } = await run(npm, ['ls', 'ioredis', '--all', '--parseable'], { cwd: project() });
        const copies = stdout
          .trim()
          .split('\n')
          .filter((line) => line.includes('node_modules'));
        assert.equal(copies.length, 1, stdout);
        const { stdout: version } = await run(process.execPath, [
          '-p',
          `require(${JSON.stringify(join(project(), 'node_modules/ioredis/package.json'))}).version`,
        ]);
        assert.equal(version.trim().split('.')[0], String(consumer.ioredis));
      });

      test('every ts block of the README and docs/ compiles strictly (skipLibCheck off)', async () => {
        writeBlockProject(project(), compiled);
        const tsc = join(project(), 'node_modules/typescript/bin/tsc');
        const output = compileBlockProject(tsc, project(), compiled);
        assert.equal(output, '');
      });

      test('a token works, fails when wrong and stops when revoked, on memory, Redis and PostgreSQL', async () => {
        writeFileSync(join(project(), 'end-to-end.mjs'), endToEnd);
        const table = `newest_${consumer.express}_${consumer.ioredis}`;
        const { stdout } = await run(
          process.execPath,
          ['end-to-end.mjs', TEST_REDIS_URL, redisPrefix, postgres.url, table],
          { cwd: project(), timeout: 120_000 },
        );
        const results = JSON.parse(stdout) as Record<string, Record<string, unknown>>;
        for (const store of ['memory', 'redis', 'postgres']) {
          assert.deepEqual(
            results[store],
            { ok: 200, login: 'newest', sameId: true, basic: 200, wrong: 401, revoked: 401 },
            store,
          );
        }
      });
    });
  }
});
