// What a newcomer gets from `npm start` with no configuration: the in-memory store, a fresh demo tree, a
// token printed once and commands that work when pasted into a shell, exactly as printed.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { requireClient, run, type SpawnedApp, spawnExampleApp } from './support/example-app';

describe('example-app started as `npm start` does (no REDIS_URL, no DATA_DIR)', () => {
  let app: SpawnedApp;
  let filesDir: string;
  let exportLine: string;
  let commands: string[];

  before(async () => {
    requireClient('curl');
    requireClient('rclone');
    app = await spawnExampleApp({ REDIS_URL: undefined, DATA_DIR: undefined });
    filesDir = /^ {2}files: +(\S+)/m.exec(app.banner)![1]!;
    exportLine = /^ {2}(export TOKEN=.*)$/m.exec(app.banner)![1]!;
    commands = [...app.banner.matchAll(/^ {2}((?:curl|rclone) .*)$/gm)].map((match) => match[1]!);
  });

  after(async () => {
    if (app && app.process.exitCode === null) await app.stop();
  });

  test('prints the token for admin once, as an export line, with the memory store and a temporary tree', () => {
    assert.match(app.banner, /tokens: +in memory/);
    assert.match(app.banner, /a fresh demo tree, deleted on exit/);
    assert.ok(app.demoToken, 'a demo token is printed');
    assert.equal(app.banner.split(app.demoToken).length - 1, 1, 'the token text appears exactly once');
    assert.equal(app.stderr().includes(app.demoToken), false, 'and never on stderr');
    assert.ok(existsSync(`${filesDir}/docs/readme.txt`));
    assert.equal(commands.length, 5);
  });

  test('each printed command works as pasted, after the export line', async () => {
    const expectations: [RegExp, RegExp][] = [
      [/\/api\/me$/, /"login":"admin"/],
      [/\/api\/nodes\?path=\/docs'$/, /"path":"\/docs","type":"folder"/],
      [/\/api\/nodes\/[0-9a-f-]{36}$/, /Welcome to the personal-token-auth example app/],
      [/-X PROPFIND/, /<D:href>\/dav\/docs\/readme.txt<\/D:href>/],
      [/^rclone ls/, /^(?=[\s\S]*\b48 docs\/readme\.txt$)(?=[\s\S]*private\/notes\.txt$)/m],
    ];
    for (const command of commands) {
      const expected = expectations.find(([pattern]) => pattern.test(command));
      assert.ok(expected, `an expectation for: ${command}`);
      const result = await run('bash', [
        '-c',
        `set -e\n${exportLine}\n${command.replace(/^curl /, 'curl -sS ')}`,
      ]);
      assert.equal(result.code, 0, `${command}\n${result.stderr}`);
      assert.match(result.stdout, expected[1], command);
    }
  });

  test('SIGTERM stops it cleanly and removes the temporary tree', async () => {
    assert.equal(await app.stop(), 0);
    assert.equal(existsSync(filesDir), false);
  });
});

describe('example-app that cannot start', () => {
  test('its port is taken: it exits with 1 and leaves no temporary data folder behind', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    const port = (taken.address() as { port: number }).port;
    // Its own TMPDIR, so that the only folders there are what this start left.
    const temporaryRoot = mkdtempSync(join(tmpdir(), 'pat-example-start-'));
    try {
      await assert.rejects(
        spawnExampleApp({
          PORT: String(port),
          TMPDIR: temporaryRoot,
          REDIS_URL: undefined,
          DATA_DIR: undefined,
        }),
        /exited with 1 before starting[\s\S]*EADDRINUSE/,
      );
      assert.deepEqual(
        readdirSync(temporaryRoot).filter((name) => name.startsWith('pat-example-')),
        [],
        'no demo tree left behind',
      );
    } finally {
      taken.close();
      rmSync(temporaryRoot, { recursive: true, force: true });
    }
  });
});
