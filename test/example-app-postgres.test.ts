// The example app with DATABASE_URL: tokens in a PostgreSQL the test starts, made by the command the
// banner prints (the CLI with --postgres), and accepted by the app; revoked there, refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { run, type SpawnedApp, spawnExampleApp } from './support/example-app';
import { type PostgresServer, startPostgres } from './support/postgres-server';

describe('example-app with DATABASE_URL', () => {
  let server: PostgresServer;
  let app: SpawnedApp;

  before(async () => {
    server = await startPostgres();
    app = await spawnExampleApp({ DATABASE_URL: server.url, REDIS_URL: undefined, DATA_DIR: undefined });
  });
  after(async () => {
    if (app) assert.equal(await app.stop(), 0, `the app exits cleanly on SIGTERM; stderr:\n${app.stderr()}`);
    await server?.cleanup();
  });

  test('prints no token but the CLI command for the database; a token it makes works, until revoked', async () => {
    assert.equal(app.demoToken, null);
    assert.match(
      app.banner,
      /tokens: +PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres, table personal_tokens/,
    );
    const printed = /^ {2}export TOKEN=\$\(npx personal-token (.*)\)$/m.exec(app.banner);
    assert.ok(printed, `a CLI line in the banner:\n${app.banner}`);
    // The printed arguments, given to the CLI from source (`npx personal-token` runs its build).
    const cli = (args: string) =>
      run('bash', ['-c', `node --import tsx --conditions=personal-token-auth-source cli/main.ts ${args}`]);
    const created = await cli(printed[1]!);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    const me = () => fetch(`${app.baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    const answer = await me();
    assert.equal(answer.status, 200);
    assert.match(await answer.text(), /"login":"admin"/);

    const id = token.slice(4, 20);
    const revoked = await cli(`--postgres '${server.url}' revoke ${id}`);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((await me()).status, 401);
  });
});
