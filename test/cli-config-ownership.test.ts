// Which config the CLI runs: one found in the working directory only when the user running the CLI owns it
// and its directory and nobody else can write them (as OpenSSH's StrictModes); otherwise exit 2 and the
// config's code never runs. Each config here writes a marker file when evaluated, which proves whether it ran.
// `--config` and $PERSONAL_TOKEN_CONFIG load the file named; the file loaded is named on stderr, never stdout.
// (CI runs as root: "owned by the user" is owned by root there, and "not owned" is chowned to nobody.)
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CONFIG_ENV, whyUnsafe } from '../cli/config';
import { cliPrefix, lines, runCli, runCliInProcess, TEST_REDIS_URL, tokenLine } from './cli-support';
import { connectTestRedis, deleteKeys } from './support/redis';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const CONFIG = 'personal-token.config.mjs';
// Against a CLI that never ends, not a speed limit: a spawned CLI compiles TypeScript first, slow on a busy machine.
const GUARD_MS = 60_000;

describe('personal-token runs no config that someone else could have written', () => {
  const prefix = cliPrefix();
  const redis = connectTestRedis();
  const root = mkdtempSync(join(tmpdir(), 'personal-token-config-owner-'));
  const target = ['--redis', TEST_REDIS_URL, '--prefix', prefix];
  let made = 0;

  after(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
    rmSync(root, { recursive: true, force: true });
  });

  /** A directory (chmod `dirMode`) holding a config (chmod `fileMode`) that writes `marker` when it runs. */
  function configIn(dirMode: number, fileMode: number, parent = root) {
    const dir = join(parent, `app-${made++}`);
    mkdirSync(dir);
    const marker = join(root, `ran-${made}`);
    const path = join(dir, CONFIG);
    writeFileSync(
      path,
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default {};\n`,
    );
    chmodSync(path, fileMode);
    chmodSync(dir, dirMode); // after writing: mkdir and writeFile are subject to the umask, chmod is not
    return { dir, path, marker };
  }

  const refusal = (path: string, problem: string) =>
    `personal-token: ${path} ${problem}: not loaded; pass --config to load it anyway\n`;

  test('a world-writable directory: exit 2 naming the file and why, and the config never ran', async () => {
    const { dir, path, marker } = configIn(0o777, 0o644);
    const run = await runCli([...target, 'list', '-u', 'alice'], { cwd: dir, killAfterMs: GUARD_MS });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, refusal(path, `is in ${dir}, which is writable by group and others`));
    assert.equal(existsSync(marker), false, 'the config was not evaluated');
  });

  test('serve-auth, which runs until stopped, refuses it the same way before listening', async () => {
    const { dir, path, marker } = configIn(0o757, 0o644);
    const run = await runCli([...target, 'serve-auth', '--listen', '127.0.0.1:0'], {
      cwd: dir,
      killAfterMs: GUARD_MS,
    });
    assert.equal(run.signal, null, 'it exited by itself');
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr, refusal(path, `is in ${dir}, which is writable by others`));
    assert.equal(existsSync(marker), false);
  });

  test('a group-writable file, or a file writable by others: exit 2, not run', async () => {
    for (const [mode, who] of [
      [0o664, 'group'],
      [0o646, 'others'],
      [0o666, 'group and others'],
    ] as const) {
      const { dir, path, marker } = configIn(0o755, mode);
      const run = await runCliInProcess([...target, 'list', '-u', 'alice'], { cwd: dir });
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr, refusal(path, `is writable by ${who}`));
      assert.equal(existsSync(marker), false);
    }
  });

  test('a directory above it that others can change (not sticky): exit 2, not run', async () => {
    const above = join(root, `above-${made++}`);
    mkdirSync(above);
    chmodSync(above, 0o777);
    const { dir, path, marker } = configIn(0o755, 0o644, above);
    const run = await runCliInProcess([...target, 'list', '-u', 'alice'], { cwd: dir });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr, refusal(path, `is below ${above}, which is writable by group and others`));
    assert.equal(existsSync(marker), false);
  });

  test('a symbolic link, even to a safe file: exit 2, not run', async () => {
    const safe = configIn(0o755, 0o644);
    const dir = join(root, `link-${made++}`);
    mkdirSync(dir, { mode: 0o755 });
    symlinkSync(safe.path, join(dir, CONFIG));
    const run = await runCliInProcess([...target, 'list', '-u', 'alice'], { cwd: dir });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr, refusal(join(dir, CONFIG), 'is a symbolic link'));
    assert.equal(existsSync(safe.marker), false);
  });

  test('a file or a directory owned by another user (nobody): exit 2, not run', {
    skip: isRoot ? false : 'chown needs root (CI runs as root); whyUnsafe is checked for any user below',
  }, async () => {
    const file = configIn(0o755, 0o644);
    chownSync(file.path, NOBODY, NOBODY);
    const directory = configIn(0o755, 0o644);
    chownSync(directory.dir, NOBODY, NOBODY);
    for (const [{ dir, path, marker }, problem] of [
      [file, 'is owned by uid 65534, not by you (uid 0)'],
      [directory, `is in ${directory.dir}, which is owned by uid 65534, not by you (uid 0)`],
    ] as const) {
      const run = await runCli([...target, 'list', '-u', 'alice'], { cwd: dir, killAfterMs: GUARD_MS });
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr, refusal(path, problem));
      assert.equal(existsSync(marker), false);
    }
  });

  test('whyUnsafe: a file of the user, for anyone else, is not theirs', () => {
    const { path } = configIn(0o755, 0o644);
    const uid = process.getuid!();
    assert.equal(whyUnsafe(path, uid), null);
    assert.equal(whyUnsafe(path, uid + 1), `is owned by uid ${uid}, not by you (uid ${uid + 1})`);
    assert.match(whyUnsafe(path, undefined) ?? '', /^cannot be checked on this platform/);
  });

  test('owned, 0644 in a 0755 directory: loaded, and stderr names it in one line; stdout untouched', async () => {
    const { dir, path, marker } = configIn(0o755, 0o644);
    const run = await runCli([...target, 'list', '-u', 'alice', '--json'], {
      cwd: dir,
      killAfterMs: GUARD_MS,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '[]\n');
    assert.equal(run.stderr, `personal-token: config ${path}\n`);
    assert.equal(existsSync(marker), true, 'the config ran');
  });

  test('-q prints the token alone and nothing on stderr, not even the config line', async () => {
    const { dir, marker } = configIn(0o755, 0o644);
    const run = await runCliInProcess([...target, 'create', '-u', 'alice', '-e', '1h', '-q'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, tokenLine());
    assert.equal(run.stderr, '');
    assert.equal(existsSync(marker), true);
  });

  test('--config loads the file it names, even an unsafe one, and says so on stderr', async () => {
    const { path, marker } = configIn(0o777, 0o666);
    const elsewhere = configIn(0o755, 0o644);
    const run = await runCliInProcess([...target, '--config', path, 'list', '-u', 'alice'], {
      cwd: elsewhere.dir,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      lines(run.stderr)[0],
      `personal-token: config ${path} (loaded as asked, though it is writable by group and others)`,
    );
    assert.equal(existsSync(marker), true);
    assert.equal(existsSync(elsewhere.marker), false, 'the working directory’s config did not run');
  });

  test(`$${CONFIG_ENV} names the config; --config wins over it; a missing file is exit 2`, async () => {
    const named = configIn(0o755, 0o644);
    const cwd = configIn(0o777, 0o644); // an unsafe one in the working directory is then not even looked at
    const env = { ...process.env, [CONFIG_ENV]: named.path };
    const run = await runCli([...target, 'list', '-u', 'alice'], {
      cwd: cwd.dir,
      env,
      killAfterMs: GUARD_MS,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(lines(run.stderr)[0], `personal-token: config ${named.path}`);
    assert.equal(existsSync(named.marker), true);
    assert.equal(existsSync(cwd.marker), false);

    const flag = configIn(0o755, 0o644);
    const both = await runCliInProcess([...target, '--config', flag.path, 'list', '-u', 'alice'], { env });
    assert.equal(lines(both.stderr)[0], `personal-token: config ${flag.path}`);
    assert.equal(existsSync(flag.marker), true);

    const missing = await runCliInProcess([...target, 'list', '-u', 'alice'], {
      env: { ...process.env, [CONFIG_ENV]: join(root, 'nope.mjs') },
    });
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /^personal-token list: \$PERSONAL_TOKEN_CONFIG: no such file .*nope\.mjs; usage: /,
    );
  });
});
