// `--config` and the default personal-token.config.mjs / .js: the CLI applies the app's own
// resolveUser, canAccess, tokenPrefix and store, so it refuses what the app would refuse.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openTokens } from '../cli/open-tokens';
import { cliPrefix, runCli, runCliInProcess, TEST_REDIS_URL, tokenId, tokenLine } from './cli-support';
import { connectTestRedis, deleteKeys, scanKeys } from './support/redis';

// alice may read and write her home and only read `shared`; nobody else exists.
const USERS_AND_ACCESS = `
const users = { alice: { login: 'alice', nodes: { 'home-alice': 'rw', shared: 'r' } } };
const resolveUser = (login) => users[login] ?? null;
const canAccess = (user, nodeId, permission) => {
  const granted = user.nodes[nodeId];
  return granted === 'rw' || granted === permission;
};
`;

const fileUrl = (path: string) => pathToFileURL(path).href;

/** What a run printed on stderr after the line naming the config it loaded (checked to name `path`). */
function afterConfigLine(stderr: string, path: string): string {
  const [first, ...rest] = stderr.split(/(?<=\n)/);
  assert.equal(first, `personal-token: config ${path}\n`);
  return rest.join('');
}

describe('personal-token --config', () => {
  const prefix = cliPrefix();
  const storePrefix = cliPrefix();
  const redis = connectTestRedis();
  const root = mkdtempSync(join(tmpdir(), 'personal-token-config-'));
  const dir = (name: string, files: Record<string, string>) => {
    const path = join(root, name);
    mkdirSync(path);
    for (const [file, text] of Object.entries(files)) writeFileSync(join(path, file), text);
    return path;
  };
  const target = ['--redis', TEST_REDIS_URL, '--prefix', prefix];

  const esmApp = dir('esm-app', {
    'personal-token.config.mjs': `${USERS_AND_ACCESS}\nexport default { resolveUser, canAccess, tokenPrefix: 'acme_' };\n`,
  });
  // CommonJS (no package.json with "type": "module"), exporting an async factory.
  const cjsApp = dir('cjs-app', {
    'personal-token.config.js': `${USERS_AND_ACCESS}\nmodule.exports = async () => ({ resolveUser, canAccess });\n`,
  });
  const storeApp = dir('store-app', {
    'personal-token.config.mjs': [
      `import ioredis from ${JSON.stringify(fileUrl(require.resolve('ioredis')))};`,
      `import { RedisTokenStore } from ${JSON.stringify(fileUrl(join(__dirname, '..', 'adapters', 'redis.ts')))};`,
      // An app's client: default retries, never closed by the CLI, which must still exit. Lazy, so
      // that loading this config in the test process (for the refusals below) opens no socket.
      `const client = new ioredis.Redis(${JSON.stringify(TEST_REDIS_URL)}, { lazyConnect: true });`,
      `export const store = new RedisTokenStore(client, { prefix: ${JSON.stringify(storePrefix)} });`,
      '',
    ].join('\n'),
  });
  const urlApp = dir('url-app', {
    'app.config.mjs': `export default { redisUrl: ${JSON.stringify(TEST_REDIS_URL)}, keyPrefix: ${JSON.stringify(prefix)} };\n`,
  });
  const limitedApp = dir('limited-app', {
    'personal-token.config.mjs': 'export const maxTokensPerUser = 1;\n',
  });
  const brokenApp = dir('broken-app', {
    'throws.mjs': "throw new Error('config exploded');\n",
    'wrong.mjs': "export default { resolveUser: 'alice' };\n",
    'misspelt.mjs': 'export default { maxTokenPerUser: 1 };\n',
  });
  // What serve-auth reads from the config beside the service's options.
  const serveAuthApp = dir('serve-auth-app', {
    'personal-token.config.mjs': [
      "export const resolveNode = (method, path) => ({ nodeId: path.split('/')[1], permission: 'r' });",
      'export const resolveAncestors = () => [];',
      'export const maxTokensPerUser = 5;',
      '',
    ].join('\n'),
  });

  after(async () => {
    await deleteKeys(redis, prefix);
    await deleteKeys(redis, storePrefix);
    await redis.quit();
    rmSync(root, { recursive: true, force: true });
  });

  test('personal-token.config.mjs in the working directory: its tokenPrefix, users and access rules', async () => {
    const run = await runCli(
      [...target, 'create', '-u', 'alice', '-e', '1h', '-s', 'node:home-alice:rw,node:shared:r'],
      {
        cwd: esmApp,
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, tokenLine('acme_'));
    const listed = await runCliInProcess([...target, 'list', '-u', 'alice', '--json'], { cwd: esmApp });
    assert.deepEqual(JSON.parse(listed.stdout)[0].scopes, ['node:home-alice:rw', 'node:shared:r']);
    assert.equal(JSON.parse(listed.stdout)[0].id, tokenId(run.stdout, 'acme_'));
  });

  test('an unknown user is refused like the app would: one line, exit 1, nothing written', async () => {
    const run = await runCli([...target, 'create', '-u', 'mallory', '-e', '1h'], { cwd: esmApp });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(
      afterConfigLine(run.stderr, join(esmApp, 'personal-token.config.mjs')),
      'personal-token: Unknown or disabled user "mallory"\n',
    );
    assert.deepEqual(
      (await scanKeys(redis, prefix)).filter((key) => key.includes('mallory')),
      [],
    );
  });

  test('a scope on a node the user cannot reach is refused: one line, exit 1, nothing written', async () => {
    const before = await scanKeys(redis, prefix);
    const run = await runCli([...target, 'create', '-u', 'alice', '-a', '10m', '-s', 'node:shared:rw'], {
      cwd: esmApp,
    });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(
      afterConfigLine(run.stderr, join(esmApp, 'personal-token.config.mjs')),
      /^personal-token: User "alice" has no "rw" access to node shared[^\n]*\n$/,
    );
    assert.deepEqual((await scanKeys(redis, prefix)).sort(), before.sort());
  });

  test('personal-token.config.js (CommonJS, an async factory) is found too', async () => {
    const allowed = await runCli(
      [...target, 'create', '-u', 'alice', '-e', '1h', '-s', 'node:shared:r', '-q'],
      {
        cwd: cjsApp,
      },
    );
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, tokenLine());
    const refused = await runCliInProcess([...target, 'create', '-u', 'bob', '-e', '1h'], { cwd: cjsApp });
    assert.equal(refused.code, 1);
    assert.equal(
      afterConfigLine(refused.stderr, join(cjsApp, 'personal-token.config.js')),
      'personal-token: Unknown or disabled user "bob"\n',
    );
  });

  test('--config <file>, relative to the working directory or absolute', async () => {
    const relative = await runCliInProcess(
      [...target, '--config', '../esm-app/personal-token.config.mjs', 'create', '-u', 'mallory', '-e', '1h'],
      { cwd: cjsApp },
    );
    assert.equal(
      afterConfigLine(relative.stderr, join(esmApp, 'personal-token.config.mjs')),
      'personal-token: Unknown or disabled user "mallory"\n',
    );
    const absolute = await runCliInProcess([
      ...target,
      '--config',
      join(esmApp, 'personal-token.config.mjs'),
      'create',
      '-u',
      'alice',
      '-e',
      '1h',
    ]);
    assert.equal(absolute.code, 0, absolute.stderr);
    assert.match(absolute.stdout, tokenLine('acme_'));
  });

  test('a store from the config: tokens go where the app reads; the CLI still exits', async () => {
    const run = await runCli(['create', '-u', 'alice', '-e', '1h', '-q'], {
      cwd: storeApp,
      killAfterMs: 10_000,
    });
    assert.equal(run.signal, null, 'the CLI exited by itself despite the open client');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await redis.exists(`${storePrefix}t:{${tokenId(run.stdout)}}`), 1);
    for (const option of ['--prefix', '--redis']) {
      const value = option === '--prefix' ? prefix : TEST_REDIS_URL;
      const refused = await runCliInProcess([option, value, 'list', '-u', 'alice'], { cwd: storeApp });
      assert.equal(refused.code, 2);
      assert.match(
        afterConfigLine(refused.stderr, join(storeApp, 'personal-token.config.mjs')),
        /^personal-token list: --redis and --prefix do not apply: the config .* provides its own store; usage: /,
      );
    }
  });

  test('redisUrl and keyPrefix from the config, --prefix winning over keyPrefix', async () => {
    const run = await runCliInProcess(
      ['--config', 'app.config.mjs', 'create', '-u', 'zoe', '-e', '1h', '-q'],
      {
        cwd: urlApp,
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await redis.exists(`${prefix}t:{${tokenId(run.stdout)}}`), 1);
    const elsewhere = await runCliInProcess(
      ['--config', 'app.config.mjs', '--prefix', storePrefix, 'list', '-u', 'zoe', '--json'],
      { cwd: urlApp },
    );
    assert.deepEqual(JSON.parse(elsewhere.stdout), []);
  });

  test('any other TokenService option of the app applies too (maxTokensPerUser)', async () => {
    const first = await runCliInProcess([...target, 'create', '-u', 'yann', '-e', '1h', '-q'], {
      cwd: limitedApp,
    });
    assert.equal(first.code, 0, first.stderr);
    const second = await runCliInProcess([...target, 'create', '-u', 'yann', '-e', '1h', '-q'], {
      cwd: limitedApp,
    });
    assert.equal(second.code, 2, 'over the per-user limit is exit 2');
    assert.equal(second.stdout, '');
    assert.match(second.stderr, /^personal-token: User "yann" already has 1 live tokens[^\n]*\n$/);
  });

  test('a missing, throwing or malformed config: one line each (after the one naming the config)', async () => {
    const missing = await runCliInProcess([...target, '--config', 'nope.mjs', 'list', '-u', 'a'], {
      cwd: brokenApp,
    });
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /^personal-token list: --config: no such file .*nope\.mjs; usage: personal-token list/,
    );
    const throwing = await runCliInProcess([...target, '--config', 'throws.mjs', 'list', '-u', 'a'], {
      cwd: brokenApp,
    });
    assert.equal(throwing.code, 1);
    assert.match(
      afterConfigLine(throwing.stderr, join(brokenApp, 'throws.mjs')),
      /^personal-token: cannot load config .*throws\.mjs: config exploded\n$/,
    );
    const wrong = await runCliInProcess([...target, '--config', 'wrong.mjs', 'list', '-u', 'a'], {
      cwd: brokenApp,
    });
    assert.equal(wrong.code, 1);
    assert.equal(
      afterConfigLine(wrong.stderr, join(brokenApp, 'wrong.mjs')),
      `personal-token: invalid config ${join(brokenApp, 'wrong.mjs')}: resolveUser must be a function\n`,
    );
  });

  test('a misspelt option in the config is refused, naming the option meant, before any change', async () => {
    const before = await scanKeys(redis, prefix);
    const run = await runCliInProcess(
      [...target, '--config', 'misspelt.mjs', 'create', '-u', 'a', '-e', '1h'],
      {
        cwd: brokenApp,
      },
    );
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(
      afterConfigLine(run.stderr, join(brokenApp, 'misspelt.mjs')),
      `personal-token: invalid options in ${join(brokenApp, 'misspelt.mjs')}: TokenService: unknown option "maxTokenPerUser" — did you mean "maxTokensPerUser"?\n`,
    );
    assert.deepEqual((await scanKeys(redis, prefix)).sort(), before.sort());
  });

  test("serve-auth's resolveNode and resolveAncestors in the config are no service options", async () => {
    const opened = await openTokens({ redis: TEST_REDIS_URL, prefix }, {}, serveAuthApp);
    try {
      assert.equal(typeof opened.config.resolveNode, 'function');
      assert.equal(typeof opened.config.resolveAncestors, 'function');
      assert.equal(opened.tokens.limits.maxTokensPerUser, 5);
    } finally {
      await opened.close();
    }
  });
});
