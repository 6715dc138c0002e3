// `personal-token create`, run as a real process against the real Redis.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  cliPrefix,
  runCli,
  runCliInProcess,
  TEST_REDIS_URL,
  tokenId,
  tokenLine,
  uniqueLogin,
} from './cli-support';
import { connectTestRedis, deleteKeys, scanKeys } from './support/redis';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe('personal-token create', () => {
  const prefix = cliPrefix();
  const redis = connectTestRedis();
  const cli = (...args: string[]) => runCli(['--redis', TEST_REDIS_URL, '--prefix', prefix, ...args]);
  // Reading back is not what is tested here: in process, to spare a process per check.
  const inspectJson = async (id: string) => {
    const run = await runCliInProcess([
      '--redis',
      TEST_REDIS_URL,
      '--prefix',
      prefix,
      'inspect',
      id,
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout);
  };

  after(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  test('-e: the token alone on stdout; who, when and "shown once" on stderr; a hard TTL in Redis', async () => {
    const user = uniqueLogin('admin');
    const run = await cli('create', '-u', user, '-e', '24h');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, tokenLine());
    const token = run.stdout.trim();
    const id = tokenId(token);
    assert.ok(!run.stderr.includes(token.slice(4 + 16)), 'stderr never shows the secret');
    assert.match(run.stderr, new RegExp(`^Token ${id} for user "${user}"\\.$`, 'm'));
    const expires = /^Expires (\S+ \S+) \(hard limit, 1d after creation\)\.$/m.exec(run.stderr);
    assert.ok(expires, run.stderr);
    assert.match(run.stderr, /^Scopes: none, the token has the full access of "admin-[0-9a-f]+"\.$/m);
    assert.match(run.stderr, /shown only once/);

    const ttl = await redis.pttl(`${prefix}t:{${id}}`);
    assert.ok(ttl > DAY - MINUTE && ttl <= DAY, `TTL ${ttl} ms`);
    const info = await inspectJson(id);
    assert.equal(info.user, user);
    assert.equal(info.autoRefresh, null);
    assert.equal(Date.parse(info.hardExpiresAt) - Date.parse(info.createdAt), DAY);
    const printed = Date.parse(expires[1]!.replace(' ', 'T'));
    assert.ok(
      Math.abs(printed - Date.parse(info.expiresAt)) < 2000,
      `printed ${expires[1]}, stored ${info.expiresAt}`,
    );
  });

  test('-a: a sliding token without cap, its TTL the window', async () => {
    const user = uniqueLogin('admin');
    const run = await cli('create', '-u', user, '-a', '10m');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, tokenLine());
    assert.match(run.stderr, /^Sliding expiry: valid 10m after its last use, with no cap\.$/m);
    assert.match(run.stderr, /^Expires \S+ \S+ unless used before\.$/m);
    assert.doesNotMatch(run.stderr, /hard limit/);
    const id = tokenId(run.stdout);
    const ttl = await redis.pttl(`${prefix}t:{${id}}`);
    assert.ok(ttl > 9 * MINUTE && ttl <= 10 * MINUTE, `TTL ${ttl} ms`);
    const info = await inspectJson(id);
    assert.equal(info.autoRefresh, 10 * MINUTE);
    assert.equal(info.hardExpiresAt, null);
  });

  test('-a with -e, repeated and comma-separated -s, -l, -q: the token alone, nothing on stderr', async () => {
    const user = uniqueLogin('admin');
    const run = await cli(
      'create',
      '-u',
      user,
      '-a',
      '10m',
      '-e',
      '30d',
      '-s',
      'node:3f2a:r',
      '-s',
      'node:77c1:wr,node:9a0b:w',
      '-s',
      'node:3f2a:r',
      '-l',
      'backup script',
      '-q',
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, tokenLine());
    assert.equal(run.stderr, '');
    const id = tokenId(run.stdout);
    assert.deepEqual(
      (await scanKeys(redis, prefix)).filter((key) => key.includes(id)),
      [`${prefix}t:{${id}}`],
    );
    const info = await inspectJson(id);
    assert.deepEqual(
      info.scopes,
      ['node:3f2a:r', 'node:77c1:rw', 'node:9a0b:w'],
      'split, normalised, deduplicated',
    );
    assert.equal(info.label, 'backup script');
    assert.equal(info.autoRefresh, 10 * MINUTE);
    assert.equal(Date.parse(info.hardExpiresAt) - Date.parse(info.createdAt), 30 * DAY);
    const ttl = await redis.pttl(`${prefix}t:{${id}}`);
    assert.ok(ttl <= 10 * MINUTE, 'the sliding window, not the cap, sets the TTL');
  });

  test('long option names, and global options after the command', async () => {
    const user = uniqueLogin('admin');
    const run = await runCli([
      'create',
      '--user',
      user,
      '--auto',
      '1h',
      '--expire',
      '7d',
      '--scope',
      'node:home:rw',
      '--label',
      'sync',
      '--redis',
      TEST_REDIS_URL,
      '--prefix',
      prefix,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, tokenLine());
    assert.match(run.stderr, /^Token [0-9a-f]{16} for user "admin-[0-9a-f]+", label "sync"\.$/m);
    assert.match(
      run.stderr,
      /^Sliding expiry: valid 1h after its last use, but never after \S+ \S+ \(cap 7d\)\.$/m,
    );
    assert.match(run.stderr, /^Scopes: node:home:rw\.$/m);
    assert.equal(await redis.exists(`${prefix}t:{${tokenId(run.stdout)}}`), 1);
    assert.deepEqual(await redis.zrange(`${prefix}u:{${user}}`, '0', '-1'), [tokenId(run.stdout)]);
  });
});
