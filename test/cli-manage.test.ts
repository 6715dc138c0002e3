// `personal-token list`, `inspect` and `revoke`, run as real processes against the real Redis.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RedisTokenStore } from '../adapters/redis';
import { TokenService } from '../lib/index';
import { cliPrefix, lines, runCli, runCliInProcess, TEST_REDIS_URL, uniqueLogin } from './cli-support';
import { connectTestRedis, deleteKeys } from './support/redis';

const JSON_FIELDS = [
  'autoRefresh',
  'createdAt',
  'expiresAt',
  'hardExpiresAt',
  'id',
  'label',
  'lastUsedAt',
  'lastUsedIp',
  'parentId',
  'recentIps',
  'scopes',
  'user',
];

describe('personal-token list, inspect and revoke', () => {
  const prefix = cliPrefix();
  const redis = connectTestRedis();
  const cli = (...args: string[]) => runCli(['--redis', TEST_REDIS_URL, '--prefix', prefix, ...args]);
  // For follow-up checks and variants: the same program in process, sparing a process each.
  const cliInProcess = (...args: string[]) =>
    runCliInProcess(['--redis', TEST_REDIS_URL, '--prefix', prefix, ...args]);
  // Fixtures are issued in process (create has its own tests); only the command under test is spawned.
  const tokens = new TokenService({ store: new RedisTokenStore(redis, { prefix }) });
  const create = async (...args: string[]) => {
    const options: {
      user?: string;
      expiresIn?: string;
      autoRefresh?: string;
      label?: string;
      scopes?: string[];
    } = {};
    for (let i = 0; i < args.length; i += 2) {
      const [flag, value] = [args[i], args[i + 1]!];
      if (flag === '-u') options.user = value;
      else if (flag === '-e') options.expiresIn = value;
      else if (flag === '-a') options.autoRefresh = value;
      else if (flag === '-l') options.label = value;
      else if (flag === '-s') options.scopes = value.split(',');
      else throw new Error(`fixture flag ${flag}`);
    }
    const issued = await tokens.issue({ ...options, user: options.user! });
    return { token: issued.token, id: issued.id };
  };
  const tokenKey = (id: string) => `${prefix}t:{${id}}`;

  after(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  test('list: a table of id, label, scopes, expiry mode and times, newest first, never a secret', async () => {
    const user = uniqueLogin('alice');
    const older = await create('-u', user, '-e', '24h', '-l', 'nightly backup');
    const newer = await create('-u', user, '-a', '10m', '-e', '30d', '-s', 'node:n1:r,node:n2:rw');
    const run = await cli('list', '-u', user);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const [header, first, second, ...rest] = lines(run.stdout);
    assert.deepEqual(rest, []);
    assert.match(header!, /^ID +LABEL +SCOPES +EXPIRY +EXPIRES AT +CREATED AT +LAST USED +PARENT$/);
    const time = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ';
    assert.match(
      first!,
      new RegExp(
        `^${newer.id} +- +node:n1:r,node:n2:rw +sliding 10m, cap ${time} +${time} +${time} +never +-$`,
      ),
    );
    assert.match(
      second!,
      new RegExp(`^${older.id} +nightly backup +\\(full access\\) +hard +${time} +${time} +never +-$`),
    );
    for (const { token } of [older, newer])
      assert.ok(!run.stdout.includes(token.slice(20)), 'no secret listed');
  });

  test('list --json: TokenInfo fields only, dates in ISO 8601, no secret', async () => {
    const user = uniqueLogin('bob');
    const hard = await create('-u', user, '-e', '1h');
    const sliding = await create('-u', user, '-a', '20s', '-l', 'ci', '-s', 'node:ci:w');
    const run = await cli('list', '-u', user, '--json');
    assert.equal(run.code, 0, run.stderr);
    const listed = JSON.parse(run.stdout);
    assert.deepEqual(
      listed.map((entry: { id: string }) => entry.id),
      [sliding.id, hard.id],
    );
    for (const entry of listed) assert.deepEqual(Object.keys(entry).sort(), JSON_FIELDS);
    assert.deepEqual(listed[0], {
      ...listed[0],
      user,
      label: 'ci',
      scopes: ['node:ci:w'],
      autoRefresh: 20_000,
      hardExpiresAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
    });
    assert.equal(Date.parse(listed[1].hardExpiresAt) - Date.parse(listed[1].createdAt), 3_600_000);
    assert.equal(listed[1].autoRefresh, null);
    for (const { token } of [hard, sliding])
      assert.ok(!run.stdout.includes(token.slice(20)), 'no secret listed');
  });

  test('list for a user without tokens: nothing on stdout (or [] with --json), exit 0', async () => {
    const user = uniqueLogin('nobody');
    const table = await cli('list', '-u', user);
    assert.equal(table.code, 0);
    assert.equal(table.stdout, '');
    assert.equal(table.stderr, `no live tokens for user "${user}"\n`);
    const json = await cliInProcess('list', '-u', user, '--json');
    assert.equal(json.code, 0);
    assert.deepEqual(JSON.parse(json.stdout), []);
  });

  test('inspect: one token as fields, or as the same JSON as list', async () => {
    const user = uniqueLogin('carol');
    const { id } = await create('-u', user, '-a', '10m', '-l', 'webdav', '-s', 'node:docs:r');
    const details = await cli('inspect', id);
    assert.equal(details.code, 0, details.stderr);
    assert.match(details.stdout, new RegExp(`^id +${id}$`, 'm'));
    assert.match(details.stdout, new RegExp(`^user +${user}$`, 'm'));
    assert.match(details.stdout, /^label +webdav$/m);
    assert.match(details.stdout, /^scopes +node:docs:r$/m);
    assert.match(details.stdout, /^expiry +sliding 10m$/m);
    assert.match(details.stdout, /^last used +never$/m);
    const json = await cliInProcess('inspect', id, '--json');
    assert.equal(json.code, 0, json.stderr);
    const listed = await cliInProcess('list', '-u', user, '--json');
    const inspected = JSON.parse(json.stdout);
    const fromList = JSON.parse(listed.stdout)[0];
    // expiresAt is read back from the key's PTTL, so two reads may differ by a millisecond or so.
    assert.ok(Math.abs(Date.parse(inspected.expiresAt) - Date.parse(fromList.expiresAt)) < 1000);
    assert.deepEqual({ ...inspected, expiresAt: null }, { ...fromList, expiresAt: null });
  });

  test('inspect never refreshes a sliding token: its hash and PTTL stay as they were', async () => {
    const user = uniqueLogin('dave');
    const { token, id } = await create('-u', user, '-a', '10m');
    const key = tokenKey(id);
    const hashBefore = await redis.get(key);
    const ttlBefore = await redis.pttl(key);
    for (const args of [
      ['inspect', id],
      ['inspect', id, '--json'],
    ]) {
      const run = await cli(...args);
      assert.equal(run.code, 0, run.stderr);
    }
    assert.deepEqual(await redis.get(key), hashBefore);
    const ttlAfter = await redis.pttl(key);
    assert.ok(ttlAfter <= ttlBefore, `PTTL went from ${ttlBefore} to ${ttlAfter} ms`);

    // The same measurement does see a refresh: a real use pushes the expiry forward.
    assert.ok(await tokens.verify(token));
    const ttlAfterUse = await redis.pttl(key);
    assert.ok(ttlAfterUse > ttlAfter, `PTTL after a use: ${ttlAfterUse} ms, after inspect: ${ttlAfter} ms`);
  });

  test('inspect an unknown id: a message naming it, exit 1', async () => {
    const run = await cli('inspect', '0123456789abcdef');
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      'personal-token: no token with id 0123456789abcdef (unknown, expired or revoked)\n',
    );
  });

  test('revoke <id>...: each token is gone from Redis and from list', async () => {
    const user = uniqueLogin('erin');
    const first = await create('-u', user, '-e', '1h');
    const second = await create('-u', user, '-a', '10m');
    const kept = await create('-u', user, '-e', '1h');
    const run = await cli('revoke', first.id, second.id);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `revoked ${first.id}\nrevoked ${second.id}\n`);
    assert.equal(run.stderr, '');
    for (const { token, id } of [first, second]) {
      assert.equal(await tokens.verify(token), null, 'refused from now on');
      assert.equal(await tokens.inspect(id), null);
    }
    const listed = await cliInProcess('list', '-u', user, '--json');
    assert.deepEqual(
      JSON.parse(listed.stdout).map((entry: { id: string }) => entry.id),
      [kept.id],
    );
  });

  test('revoke with an unknown id: the known ones are revoked, the unknown one named, exit 1', async () => {
    const user = uniqueLogin('frank');
    const known = await create('-u', user, '-e', '1h');
    const run = await cli('revoke', 'fedcba9876543210', known.id);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, `revoked ${known.id}\n`);
    assert.equal(
      run.stderr,
      'personal-token: no token with id fedcba9876543210 (unknown, expired or revoked)\n',
    );
    assert.equal(await tokens.verify(known.token), null);
  });

  test("revoke --user X --all: every token of X, and only X's", async () => {
    const user = uniqueLogin('grace');
    const other = uniqueLogin('heidi');
    const revokedOnes = [await create('-u', user, '-e', '1h'), await create('-u', user, '-a', '5m')];
    const untouched = await create('-u', other, '-e', '1h');
    const run = await cli('revoke', '--user', user, '--all');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `revoked 2 tokens of user "${user}"\n`);
    for (const { token } of revokedOnes) assert.equal(await tokens.verify(token), null);
    assert.ok(await tokens.verify(untouched.token), "another user's token still works");
    const again = await cliInProcess('revoke', '-u', user, '--all');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `revoked 0 tokens of user "${user}"\n`);
  });
  test('rotate: a new token (stdout, once) with the same owner, scopes and hard limit; the old one stops', async () => {
    const user = uniqueLogin('rotor');
    const old = await create('-u', user, '-e', '2h', '-a', '10m', '-l', 'ci', '-s', 'node:n1:r');
    const before = await tokens.inspect(old.id);
    const run = await cli('rotate', old.id);
    assert.equal(run.code, 0, run.stderr);
    const [fresh, ...rest] = lines(run.stdout);
    assert.equal(rest.length, 0);
    assert.match(fresh!, /^pat_[0-9a-f]{16}/);
    assert.ok(!run.stderr.includes(fresh!), 'the new token only on stdout');
    assert.match(run.stderr, new RegExp(`The old token ${old.id} is revoked`));
    const info = await tokens.verify(fresh!);
    assert.equal(info?.user, user);
    assert.equal(info?.label, 'ci');
    assert.deepEqual(info?.scopes, ['node:n1:r']);
    assert.equal(info?.hardExpiresAt?.getTime(), before?.hardExpiresAt?.getTime());
    assert.equal(await tokens.verify(old.token), null);
  });

  test('rotate --overlap keeps the old token working; -q prints the new token alone', async () => {
    const user = uniqueLogin('rotor');
    const old = await create('-u', user, '-e', '2h');
    const run = await cliInProcess('rotate', old.id, '--overlap', '1h', '-q');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(lines(run.stdout).length, 1);
    assert.ok(await tokens.verify(old.token), 'within the overlap');
    // A token whose hard limit was brought forward is kept under its own key (see redis-scripts.ts).
    const pttl = await redis.pttl(`${prefix}l:{${old.id}}`);
    assert.ok(pttl <= 3_600_000 && pttl > 3_590_000, `old token now ends with the overlap (PTTL ${pttl})`);
  });

  test('rotate: unknown id exits 1, a bad id or overlap exits 2', async () => {
    const unknown = await cliInProcess('rotate', '0123456789abcdef');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no token with id 0123456789abcdef/);
    const badId = await cliInProcess('rotate', 'xyz');
    assert.equal(badId.code, 2);
    const badOverlap = await cliInProcess('rotate', '0123456789abcdef', '--overlap', '1.5h');
    assert.equal(badOverlap.code, 2);
    assert.equal(lines(badOverlap.stderr).length, 1);
    assert.match(badOverlap.stderr, /--overlap/);
  });
});
