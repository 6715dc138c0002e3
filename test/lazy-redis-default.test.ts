import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TEST_REDIS_URL } from './support/redis';

// The package as an app loads it (dist/, through its own name, no source condition), in a fresh
// process: require.cache then holds exactly what importing it loaded.
const root = join(__dirname, '..');

function runBuilt(script: string, env: NodeJS.ProcessEnv = {}): unknown {
  if (!existsSync(join(root, 'dist/lib/index.js'))) {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'pipe' });
  }
  const output = execFileSync(process.execPath, ['-e', script], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(output);
}

const REDIS_MODULES = `Object.keys(require.cache).filter((file) => /[\\\\/]node_modules[\\\\/]ioredis[\\\\/]|[\\\\/]adapters[\\\\/]redis/.test(file))`;

test('importing the package loads no Redis client, nor the Redis store', () => {
  const loaded = runBuilt(`
    const pat = require('personal-token-auth');
    if (typeof pat.personalTokenAuth !== 'function' || pat.DEFAULT_KEY_PREFIX !== 'pat:') process.exit(2);
    console.log(JSON.stringify(${REDIS_MODULES}));
  `);
  assert.deepEqual(loaded, []);
});

test('personalTokenAuth() with no arguments loads them then, and checks tokens against Redis', () => {
  const result = runBuilt(
    `
    const pat = require('personal-token-auth');
    const auth = pat.personalTokenAuth();
    const loaded = ${REDIS_MODULES}.length > 0;
    (async () => {
      const issued = await auth.tokens.issue({ user: 'lazy-default-' + process.pid, expiresIn: '1m' });
      const req = { headers: { authorization: 'Bearer ' + issued.token } };
      const res = { status: () => { throw new Error('refused'); } };
      try {
        await new Promise((resolve, reject) => auth(req, res, (error) => (error ? reject(error) : resolve())));
      } finally {
        await auth.tokens.revoke(issued.id);
        await auth.tokens.close();
      }
      console.log(JSON.stringify({ loaded, login: req.authInfo.login, expected: issued.user }));
    })().catch((error) => { console.error(error); process.exit(1); });
  `,
    { REDIS_URL: TEST_REDIS_URL },
  ) as { loaded: boolean; login: string; expected: string };
  assert.equal(result.loaded, true);
  assert.equal(result.login, result.expected);
});
