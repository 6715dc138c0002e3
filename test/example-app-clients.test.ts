// The example app as a real process (Redis store, as after `personal-token create`), driven by real clients
// from Debian's packages: curl, rclone (webdav backend) and litmus. A missing client fails, never skips.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { TokenService } from 'personal-token-auth';
import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
import { DEMO_FILES } from '../example-app/demo-tree';
import { freshDataDir, requireClient, run, type SpawnedApp, spawnExampleApp } from './support/example-app';
import { connectTestRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from './support/redis';

// Every litmus suite, each of which must pass in full.
const LITMUS_SUITES = ['basic', 'copymove', 'props', 'locks', 'http'];

describe('example-app with real clients (curl, rclone, cadaver, litmus)', () => {
  let app: SpawnedApp;
  let redis: Redis;
  let tokens: TokenService;
  let prefix: string;
  let dataDir: string;
  let scratch: string;
  let admin: string;

  const uuidOf = async (path: string): Promise<string> => {
    const res = await fetch(`${app.baseUrl}/api/nodes?path=${encodeURIComponent(path)}`, {
      headers: { Authorization: `Bearer ${admin}` },
    });
    assert.equal(res.status, 200, `looking up ${path}`);
    return ((await res.json()) as { uuid: string }).uuid;
  };
  const issue = async (...scopes: string[]) =>
    (await tokens.issue({ user: 'admin', expiresIn: '1h', scopes })).token;

  /** rclone on an on-the-fly :webdav: remote; the token goes in obscured, as rclone wants its passwords. */
  const rclone = async (token: string, davPath: string, args: string[]) => {
    // Through stdin: the token never appears in a process list.
    const obscure = await run('rclone', ['obscure', '-'], { input: token });
    assert.equal(obscure.code, 0, obscure.stderr);
    const obscured = obscure.stdout.trim();
    return run('rclone', [
      '--config',
      '',
      '--retries',
      '1',
      '--low-level-retries',
      '1',
      '--webdav-url',
      `${app.baseUrl}/dav${davPath}`,
      '--webdav-vendor',
      'other',
      '--webdav-user',
      'admin',
      '--webdav-pass',
      obscured,
      ...args,
    ]);
  };
  const lsFiles = (stdout: string) =>
    stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/).slice(1).join(' '))
      .filter(Boolean)
      .sort();

  before(async () => {
    requireClient('curl');
    requireClient('rclone');
    requireClient('litmus');
    requireClient('cadaver');
    redis = connectTestRedis();
    prefix = uniquePrefix('example-app');
    tokens = new TokenService({ store: new RedisTokenStore(redis, { prefix }) });
    dataDir = freshDataDir();
    scratch = mkdtempSync(join(tmpdir(), 'pat-example-clients-'));
    app = await spawnExampleApp({ REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, DATA_DIR: dataDir });
    admin = await issue();
  });

  after(async () => {
    if (app) assert.equal(await app.stop(), 0, `the app exits cleanly on SIGTERM; stderr:\n${app.stderr()}`);
    await deleteKeys(redis, prefix);
    await redis.quit();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  test('with REDIS_URL it prints no token but the CLI command, and a token that command creates works', async () => {
    assert.equal(app.demoToken, null);
    assert.match(app.banner, new RegExp(`key prefix ${prefix}`));
    const printed = /^ {2}export TOKEN=\$\(npx personal-token (.*)\)$/m.exec(app.banner);
    assert.ok(printed, `a CLI line in the banner:\n${app.banner}`);
    assert.match(printed[1]!, new RegExp(`--prefix '${prefix}' create -u admin -e 1h -q$`));
    // The printed arguments, given to the CLI from source (`npx personal-token` runs its build).
    const cli = await run(
      'bash',
      ['-c', `node --import tsx --conditions=personal-token-auth-source cli/main.ts ${printed[1]}`],
      {
        env: { ...process.env, REDIS_URL: TEST_REDIS_URL },
      },
    );
    assert.equal(cli.code, 0, cli.stderr);
    const token = cli.stdout.trim();
    const me = await run('curl', ['-sS', '-H', `Authorization: Bearer ${token}`, `${app.baseUrl}/api/me`]);
    assert.equal(JSON.parse(me.stdout).login, 'admin');
    const dav = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-u',
      `admin:${token}`,
      '-X',
      'PROPFIND',
      app.davUrl,
    ]);
    assert.equal(dav.stdout, '207');
  });

  test('curl: Bearer on the REST API, Basic on WebDAV, 401 without a token', async () => {
    const me = await run('curl', ['-sS', '-H', `Authorization: Bearer ${admin}`, `${app.baseUrl}/api/me`]);
    assert.equal(me.code, 0, me.stderr);
    assert.equal(JSON.parse(me.stdout).login, 'admin');

    const propfind = await run('curl', [
      '-sS',
      '-u',
      `admin:${admin}`,
      '-X',
      'PROPFIND',
      '-H',
      'Depth: 1',
      '-w',
      '\n%{http_code}',
      `${app.baseUrl}/dav/docs/`,
    ]);
    assert.equal(propfind.code, 0, propfind.stderr);
    assert.match(propfind.stdout, /<D:href>\/dav\/docs\/readme.txt<\/D:href>/);
    assert.match(propfind.stdout, /\n207$/);

    const anonymous = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${app.baseUrl}/dav/`,
    ]);
    assert.equal(anonymous.stdout, '401');
  });

  test('rclone: ls, copy up, copy down, delete', async () => {
    const ls = await rclone(admin, '/', ['ls', ':webdav:']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(
      lsFiles(ls.stdout),
      Object.keys(DEMO_FILES)
        .map((path) => path.slice(1))
        .sort(),
    );

    const upload = join(scratch, 'upload');
    mkdirSync(upload);
    writeFileSync(join(upload, 'hello.txt'), 'hello from rclone\n');
    writeFileSync(join(upload, 'data.bin'), Buffer.alloc(70_000, 7));
    const up = await rclone(admin, '/', ['copy', upload, ':webdav:uploads']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(readFileSync(join(dataDir, 'files', 'uploads', 'hello.txt'), 'utf8'), 'hello from rclone\n');
    assert.equal(readFileSync(join(dataDir, 'files', 'uploads', 'data.bin')).length, 70_000);

    const download = join(scratch, 'download');
    const down = await rclone(admin, '/', ['copy', ':webdav:docs', download]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(readFileSync(join(download, 'readme.txt'), 'utf8'), DEMO_FILES['/docs/readme.txt']);
    assert.equal(
      readFileSync(join(download, 'reports', 'q1.txt'), 'utf8'),
      DEMO_FILES['/docs/reports/q1.txt'],
    );

    const del = await rclone(admin, '/', ['delete', ':webdav:uploads']);
    assert.equal(del.code, 0, del.stderr);
    assert.ok(!existsSync(join(dataDir, 'files', 'uploads', 'hello.txt')));
    assert.ok(!existsSync(join(dataDir, 'files', 'uploads', 'data.bin')));
  });

  test('rclone with a read-only token: listing works, uploading fails with 403', async () => {
    const readOnly = await issue(`node:${await uuidOf('/')}:r`);
    const ls = await rclone(readOnly, '/', ['ls', ':webdav:docs']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(lsFiles(ls.stdout), ['readme.txt', 'reports/q1.txt']);

    const upload = join(scratch, 'refused');
    mkdirSync(upload);
    writeFileSync(join(upload, 'nope.txt'), 'must not land\n');
    const up = await rclone(readOnly, '/', ['copy', upload, ':webdav:docs']);
    assert.notEqual(up.code, 0);
    assert.match(up.stderr, /403 Forbidden/);
    assert.ok(!existsSync(join(dataDir, 'files', 'docs', 'nope.txt')));
  });

  test('rclone with a token scoped to /docs: /docs is there, /private and the root are not', async () => {
    const docsOnly = await issue(`node:${await uuidOf('/docs')}:rw`);
    const ls = await rclone(docsOnly, '/docs/', ['ls', ':webdav:']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(lsFiles(ls.stdout), ['readme.txt', 'reports/q1.txt']);

    const priv = await rclone(docsOnly, '/private/', ['ls', ':webdav:']);
    assert.notEqual(priv.code, 0);
    assert.match(priv.stderr, /403 Forbidden/);
    assert.doesNotMatch(priv.stdout, /notes\.txt/);

    const root = await rclone(docsOnly, '/', ['ls', ':webdav:']);
    assert.notEqual(root.code, 0);
    assert.doesNotMatch(root.stdout, /notes\.txt/);
  });

  test('a revoked token fails the next request (rclone and curl)', async () => {
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const ok = await rclone(issued.token, '/', ['lsd', ':webdav:']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await tokens.revoke(issued.id), true);
    const refused = await rclone(issued.token, '/', ['lsd', ':webdav:']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /401 Unauthorized/);
    const curl = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-u',
      `admin:${issued.token}`,
      `${app.baseUrl}/dav/`,
    ]);
    assert.equal(curl.stdout, '401');
  });

  test('cadaver: ls, put, mkcol, copy, move, get, lock, unlock, delete, rmcol', async () => {
    // cadaver reads its credentials from ~/.netrc: a HOME of its own, deleted with the scratch folder.
    const home = join(scratch, 'cadaver-home');
    mkdirSync(home);
    writeFileSync(
      join(home, '.netrc'),
      `machine ${new URL(app.baseUrl).hostname}\nlogin admin\npassword ${admin}\n`,
      {
        mode: 0o600,
      },
    );
    writeFileSync(join(home, 'up.txt'), 'sent by cadaver\n');
    const commands = [
      'cd docs',
      'put up.txt',
      'mkcol by-cadaver',
      'copy up.txt by-cadaver/copy.txt',
      'move up.txt moved.txt',
      'get moved.txt down.txt',
      'lock moved.txt',
      'unlock moved.txt',
      'delete moved.txt',
      'ls by-cadaver',
    ];
    const result = await run('cadaver', [app.davUrl], {
      cwd: home,
      env: { ...process.env, HOME: home },
      input: `${commands.join('\n')}\nquit\n`,
    });
    assert.equal(result.code, 0, result.stderr);
    const steps = result.stdout.split(/^dav:\S+> /m).slice(1);
    assert.equal(steps.length, commands.length + 1, result.stdout);
    for (const [index, command] of commands.entries()) {
      if (command.startsWith('cd ')) continue;
      assert.match(steps[index]!, /succeeded\./, `cadaver ${command}:\n${steps[index]}`);
    }
    assert.match(steps[commands.length - 1]!, /copy\.txt/);
    assert.equal(readFileSync(join(home, 'down.txt'), 'utf8'), 'sent by cadaver\n');
    assert.equal(
      readFileSync(join(dataDir, 'files', 'docs', 'by-cadaver', 'copy.txt'), 'utf8'),
      'sent by cadaver\n',
    );
    assert.equal(existsSync(join(dataDir, 'files', 'docs', 'moved.txt')), false);
  });

  /** Runs every litmus suite against a WebDAV URL, asserting each runs and passes in full; the summaries, by suite. */
  const litmus = async (davUrl: string, token: string, name: string) => {
    const summaries: Record<string, string> = {};
    for (const suite of LITMUS_SUITES) {
      const cwd = join(scratch, `litmus-${name}-${suite}`); // litmus writes debug.log into its working directory
      mkdirSync(cwd);
      const result = await run('litmus', [davUrl, 'admin', token], {
        cwd,
        env: { ...process.env, TESTS: suite },
        timeoutMs: 60_000,
      });
      const summary = new RegExp(
        `summary for \`${suite}': of (\\d+) tests run: (\\d+) passed, (\\d+) failed`,
      ).exec(result.stdout);
      assert.ok(summary, `litmus ${suite} printed no summary:\n${result.stdout}\n${result.stderr}`);
      // A test litmus cannot run (e.g. for a missing ETag header) is skipped, and left out of that count.
      const skipped = /-> (\d+) tests? (?:was|were) skipped/.exec(result.stdout)?.[1] ?? '0';
      summaries[suite] = `${summary[2]}/${summary[1]} passed, ${summary[3]} failed, ${skipped} skipped`;
      assert.equal(summary[3], '0', `litmus ${suite} failed:\n${result.stdout}`);
      assert.equal(skipped, '0', `litmus ${suite} skipped tests:\n${result.stdout}`);
      assert.equal(result.code, 0);
    }
    return summaries;
  };

  test('litmus: every suite (basic, copymove, props, locks, http) passes with a token as the password, on Redis and in memory', async (t) => {
    for (const [suite, summary] of Object.entries(await litmus(app.davUrl, admin, 'redis'))) {
      t.diagnostic(`litmus ${suite} (Redis): ${summary}`);
    }
    const memoryDir = freshDataDir();
    const memoryApp = await spawnExampleApp({ REDIS_URL: '', DATABASE_URL: '', DATA_DIR: memoryDir });
    try {
      assert.ok(memoryApp.demoToken, 'the memory set-up prints a demo token');
      for (const [suite, summary] of Object.entries(
        await litmus(memoryApp.davUrl, memoryApp.demoToken, 'memory'),
      )) {
        t.diagnostic(`litmus ${suite} (memory): ${summary}`);
      }
    } finally {
      assert.equal(await memoryApp.stop(), 0, `the memory app exits cleanly; stderr:\n${memoryApp.stderr()}`);
      rmSync(memoryDir, { recursive: true, force: true });
    }
    // Whatever litmus threw at it, the app is still up.
    const alive = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-u',
      `admin:${admin}`,
      '-X',
      'OPTIONS',
      app.davUrl,
    ]);
    assert.equal(alive.stdout, '200');
  });
});
