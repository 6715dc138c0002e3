// `personal-token --postgres [url]` (and a config's postgresUrl) against a PostgreSQL the test starts:
// tokens made there work through the store, bad URLs are usage errors (exit 2), an unreachable
// server is exit 1 naming the URL, and a password never shows.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'pg';
import { PostgresTokenStore } from '../adapters/postgres';
import { TokenService } from '../lib/index';
import { lines, runCli, runCliInProcess, tokenId, tokenLine, uniqueLogin } from './cli-support';
import { freePort } from './support/free-port';
import { type PostgresServer, startPostgres } from './support/postgres-server';
import { startServeAuth } from './support/reverse-proxy';

describe('personal-token --postgres', () => {
  let server: PostgresServer;
  let pool: Pool;
  let tokens: TokenService;
  const dir = mkdtempSync(join(tmpdir(), 'personal-token-pg-'));

  before(async () => {
    server = await startPostgres();
    pool = new Pool({ connectionString: server.url });
    pool.on('error', () => {});
    tokens = new TokenService({ store: new PostgresTokenStore(pool) });
  });
  after(async () => {
    await pool?.end();
    await server?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('create, list, rotate and revoke in the personal_tokens table', async () => {
    const user = uniqueLogin('pg');
    const created = await runCli([
      '--postgres',
      server.url,
      'create',
      '-u',
      user,
      '-a',
      '10m',
      '-l',
      "o'brien",
      '-q',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, tokenLine());
    const token = created.stdout.trim();
    const id = tokenId(token);
    // The app's service, on the same table, accepts it.
    assert.equal((await tokens.authenticate(token, { login: user })).ok, true);

    const listed = await runCliInProcess(['--postgres', server.url, 'list', '-u', user, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const json = JSON.parse(listed.stdout) as { id: string; label: string }[];
    assert.deepEqual(
      json.map((entry) => [entry.id, entry.label]),
      [[id, "o'brien"]],
    );

    const rotated = await runCliInProcess(['--postgres', server.url, 'rotate', id, '-q']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const fresh = rotated.stdout.trim();
    assert.equal((await tokens.authenticate(fresh)).ok, true);
    assert.equal((await tokens.authenticate(token)).ok, false);

    const revoked = await runCliInProcess(['--postgres', server.url, 'revoke', tokenId(fresh)]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const check = await tokens.authenticate(fresh);
    assert.deepEqual(check.ok ? 'ok' : check.reason, 'revoked');
  });

  test('a config file may name the server (postgresUrl)', async () => {
    const config = join(dir, 'personal-token.config.mjs');
    writeFileSync(config, `export default { postgresUrl: ${JSON.stringify(server.url)} };\n`);
    const user = uniqueLogin('cfg');
    const created = await runCliInProcess(['create', '-u', user, '-e', '1h', '-q'], { cwd: dir });
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await tokens.authenticate(created.stdout.trim())).ok, true);
  });

  test('--postgres without a URL reads $DATABASE_URL; unset, it is a usage error', async () => {
    const user = uniqueLogin('pg-env');
    const env = { ...process.env, DATABASE_URL: server.url };
    // Before the command, after it, and before another global option: never read as the URL.
    const created = await runCliInProcess(['--postgres', 'create', '-u', user, '-e', '1h', '-q'], { env });
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await tokens.authenticate(created.stdout.trim())).ok, true);
    const listed = await runCliInProcess(['list', '-u', user, '--json', '--postgres'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 1);
    const config = join(dir, 'env.config.mjs');
    writeFileSync(config, 'export default { postgresUrl: true };\n');
    const fromConfig = await runCliInProcess(['--config', config, 'list', '-u', user, '--json'], { env });
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.equal((JSON.parse(fromConfig.stdout) as unknown[]).length, 1);

    const unset = { ...process.env, DATABASE_URL: undefined };
    const missing = await runCliInProcess(['--postgres', 'list', '-u', user], { env: unset });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /--postgres without a URL reads \$DATABASE_URL, which is not set/);
    // A config's `postgresUrl: process.env.DATABASE_URL` with the variable unset: no silent Redis.
    const unsetConfig = join(dir, 'unset.config.mjs'); // another file: this process has the first imported
    writeFileSync(unsetConfig, 'export default { postgresUrl: process.env.DATABASE_URL };\n');
    const undefinedUrl = await runCliInProcess(['--config', unsetConfig, 'list', '-u', user], { env: unset });
    assert.equal(undefinedUrl.code, 1, undefinedUrl.stderr);
    assert.match(undefinedUrl.stderr, /postgresUrl is undefined/);
  });

  test('serve-auth from $DATABASE_URL answers, and its password is in no process argument', async () => {
    const secret = `pw-${process.pid}-in-env-only`;
    const url = new URL(server.url);
    url.password = secret; // trust authentication: the server ignores it, ps must not show it
    const serveAuth = await startServeAuth(['--postgres'], dir, { ...process.env, DATABASE_URL: url.href });
    try {
      const { token } = await tokens.issue({ user: uniqueLogin('pg-serve'), expiresIn: '1h' });
      const answer = (authorization?: string) =>
        fetch(`${serveAuth.url}/auth`, {
          headers: {
            'x-original-method': 'GET',
            'x-original-uri': '/docs/readme.txt',
            ...(authorization ? { authorization } : {}),
          },
        }).then((res) => res.status);
      assert.equal(await answer(`Bearer ${token}`), 200);
      assert.equal(await answer(), 401);
      const processes = execFileSync('ps', ['-eo', 'args', '--no-headers'], { encoding: 'utf8' });
      assert.ok(processes.includes('serve-auth'), 'ps lists serve-auth');
      assert.equal(processes.includes(secret), false, 'the password is in ps');
      const own = readFileSync(`/proc/${serveAuth.child.pid}/cmdline`, 'utf8');
      assert.equal(own.includes(secret), false);
    } finally {
      await serveAuth.stop();
    }
  });

  test('a URL that is not postgres:// is a usage error (exit 2); two stores at once too', async () => {
    for (const url of ['not a url', 'redis://127.0.0.1:6379', 'http://example.com/db']) {
      const run = await runCliInProcess(['--postgres', url, 'list', '-u', 'admin']);
      assert.equal(run.code, 2, `${url}: ${run.stderr}`);
      assert.equal(lines(run.stderr).length, 1);
    }
    const both = await runCliInProcess([
      '--postgres',
      server.url,
      '--redis',
      'redis://127.0.0.1:6379',
      'list',
      '-u',
      'a',
    ]);
    assert.equal(both.code, 2, both.stderr);
  });

  test('unreachable: exit 1 naming the server, the password shown as ***', async () => {
    const url = `postgres://admin:s3cret-pw@127.0.0.1:${await freePort()}/app`;
    const run = await runCli(['--postgres', url, 'list', '-u', 'admin'], { killAfterMs: 15_000 });
    assert.equal(run.code, 1, run.stderr);
    assert.equal(lines(run.stderr).length, 1);
    assert.match(
      run.stderr,
      /^personal-token: cannot reach PostgreSQL at postgres:\/\/admin:\*\*\*@127\.0\.0\.1:\d+\/app: /,
    );
    assert.ok(!`${run.stdout}${run.stderr}`.includes('s3cret-pw'), 'the password never shows');
  });
});
