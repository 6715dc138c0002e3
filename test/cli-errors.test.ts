// How the CLI fails: usage errors (one line, exit 2, nothing written), an unreachable or hung Redis
// (one line naming the URL, exit 1, no stack trace, no endless reconnection), and its help.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type CliRun, cliPrefix, runCli, runCliInProcess, TEST_REDIS_URL } from './cli-support';
import { freePort } from './support/free-port';
import { connectTestRedis, deleteKeys, scanKeys } from './support/redis';
import { startRedis } from './support/redis-server';

/** Exactly one line on stderr, nothing on stdout, and no stack trace. */
function assertOneLineError(run: CliRun, exitCode: number, context: string): string {
  assert.equal(run.signal, null, `${context}: the CLI had to be killed`);
  assert.equal(run.code, exitCode, `${context}: ${run.stderr}`);
  assert.equal(run.stdout, '', context);
  assert.match(run.stderr, /^[^\n]+\n$/, `${context}: not exactly one line: ${JSON.stringify(run.stderr)}`);
  assert.doesNotMatch(run.stderr, /\bat .*:\d+:\d+/, `${context}: stack trace`);
  return run.stderr;
}

const A_TOKEN = `pat_0123456789abcdef${'A'.repeat(43)}abcdef`;

// [arguments, command whose usage is shown, the problem named]
const USAGE_ERRORS: [string[], string, RegExp][] = [
  [[], '', /missing command/],
  [['frob'], '', /unknown command 'frob'/],
  [['--verbose', 'list', '-u', 'a'], '', /unknown option '--verbose'/],
  [['create', '-e', '1h'], ' create', /missing -u, --user <login>/],
  [['create', '-u', '', '-e', '1h'], ' create', /-u, --user must not be empty/],
  [
    ['create', '-u', 'admin'],
    ' create',
    /missing expiry: give -e, --expire <duration> .* -a, --auto <duration>/,
  ],
  [
    ['create', '-u', 'admin', '-e', '1.5d'],
    ' create',
    /invalid duration "1\.5d" for -e, --expire: expected .*24h/,
  ],
  [['create', '-u', 'admin', '-a', '10x'], ' create', /invalid duration "10x" for -a, --auto/],
  [['create', '-u', 'admin', '-a', '0s'], ' create', /invalid duration "0s" for -a, --auto/],
  [
    ['create', '-u', 'admin', '-e', '1h', '-s', 'node:x:rwx'],
    ' create',
    /invalid scope "node:x:rwx" .*node:<NODE_ID>/,
  ],
  [['create', '-u', 'admin', '-e', '1h', '-s', 'node:a:r,folder'], ' create', /invalid scope "folder"/],
  [['create', '-u', 'admin', '-e', '1h', '-s', 'node:a:r,'], ' create', /invalid scope ""/],
  [
    ['create', '-u', 'admin', '-e', '1h', '--usr', 'x'],
    ' create',
    /unknown option '--usr' \(Did you mean --user\?\)/,
  ],
  [['create', '-e', '1h', '-u'], ' create', /option '-u, --user <login>' argument missing/],
  [['create', '-u', 'admin', '-e', '1h', 'extra'], ' create', /too many arguments/],
  [['create', '-u', 'admin', '-e', '1h', '-l', ''], ' create', /-l, --label must not be empty/],
  [['list'], ' list', /missing -u, --user <login>/],
  [['list', '-u', 'a', '--jsn'], ' list', /unknown option '--jsn'/],
  [['inspect'], ' inspect', /missing required argument 'id'/],
  [['inspect', 'xyz'], ' inspect', /invalid token id "xyz": expected the 16 hex characters/],
  [['inspect', '0123456789abcdef', 'again'], ' inspect', /too many arguments/],
  [['revoke'], ' revoke', /nothing to revoke: give token ids, or --user <login> --all/],
  [['revoke', '--all'], ' revoke', /--all needs -u, --user <login>/],
  [['revoke', '--user', 'a'], ' revoke', /--user needs --all/],
  [
    ['revoke', '0123456789abcdef', '--user', 'a', '--all'],
    ' revoke',
    /give token ids or --user <login> --all, not both/,
  ],
  [
    ['revoke', A_TOKEN],
    ' revoke',
    /invalid token id: expected the 16 hex characters shown by list, not the token/,
  ],
  [
    ['--redis', 'http://127.0.0.1:6379', 'list', '-u', 'a'],
    ' list',
    /--redis must use redis:\/\/ or rediss:\/\//,
  ],
  [['--redis', 'not a url', 'list', '-u', 'a'], ' list', /--redis is not a URL/],
  [['--prefix', '', 'list', '-u', 'a'], ' list', /--prefix must not be empty/],
];

// The error classes the issue names, each through a real process.
const SPAWNED_USAGE_ERRORS: [string[], string, RegExp][] = [
  [['create', '-a', '10m'], ' create', /missing -u, --user <login>/],
  [['create', '-u', 'admin'], ' create', /missing expiry/],
  [['create', '-u', 'admin', '-e', '1.5d'], ' create', /invalid duration "1\.5d" for -e, --expire/],
  [['create', '-u', 'admin', '-a', '10m', '-s', 'node:a:r,node:b:x'], ' create', /invalid scope "node:b:x"/],
  [['create', '-u', 'admin', '-e', '1h', '--usr', 'x'], ' create', /unknown option '--usr'/],
  [['list', '-u'], ' list', /option '-u, --user <login>' argument missing/],
  [['frob'], '', /unknown command 'frob'/],
];

function assertUsageError(run: CliRun, args: string[], command: string, problem: RegExp): void {
  const context = `personal-token ${args.join(' ')}`;
  const stderr = assertOneLineError(run, 2, context);
  assert.ok(stderr.startsWith(`personal-token${command}: `), `${context}: ${stderr}`);
  assert.match(stderr, problem, context);
  assert.match(stderr, new RegExp(`; usage: personal-token${command} \\S`), `${context}: no accepted form`);
  assert.ok(!stderr.includes(A_TOKEN.slice(4)), `${context}: a token was echoed`);
}

describe('personal-token usage errors', () => {
  const prefix = cliPrefix();
  const redis = connectTestRedis();
  const target = ['--redis', TEST_REDIS_URL, '--prefix', prefix];

  after(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  test('a real process: one line naming the problem and the accepted form, exit 2, nothing written', async () => {
    const runs = await Promise.all(SPAWNED_USAGE_ERRORS.map(([args]) => runCli([...target, ...args])));
    SPAWNED_USAGE_ERRORS.forEach(([args, command, problem], index) => {
      assertUsageError(runs[index]!, args, command, problem);
    });
    assert.deepEqual(await scanKeys(redis, prefix), []);
  });

  test('every other usage error, in process: the same form, exit 2, nothing written', async () => {
    for (const [args, command, problem] of USAGE_ERRORS) {
      assertUsageError(await runCliInProcess([...target, ...args]), args, command, problem);
    }
    assert.deepEqual(await scanKeys(redis, prefix), []);
  });

  test('a label the core refuses is a usage error too, and writes nothing', async () => {
    const run = await runCliInProcess([...target, 'create', '-u', 'a', '-e', '1h', '-l', 'a\tb']);
    const stderr = assertOneLineError(run, 2, 'label with a tab');
    assert.match(
      stderr,
      /^personal-token create: label must be text .*; usage: personal-token create -u <login>/,
    );
    assert.deepEqual(await scanKeys(redis, prefix), []);
  });

  test('they are reported before any connection: the same errors with Redis down', async () => {
    const down = `redis://127.0.0.1:${await freePort()}`;
    for (const [args, command, problem] of USAGE_ERRORS.filter(([args]) => !args.includes('--redis'))) {
      assertUsageError(await runCliInProcess(['--redis', down, ...args]), args, command, problem);
    }
  });
});

describe('personal-token with Redis unreachable', () => {
  const commands = [
    ['create', '-u', 'admin', '-e', '1h'],
    ['list', '-u', 'admin'],
    ['inspect', '0123456789abcdef'],
    ['revoke', '0123456789abcdef'],
    ['revoke', '-u', 'admin', '--all'],
  ];

  test('nothing listening: one line naming the URL and the reason, exit 1, the process ends', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const runs = await Promise.all(
      commands.slice(0, 2).map((args) => runCli(['--redis', url, ...args], { killAfterMs: 10_000 })),
    );
    for (const run of runs) {
      assert.match(
        assertOneLineError(run, 1, 'refused'),
        new RegExp(`^personal-token: cannot reach Redis at ${url}: connect ECONNREFUSED`),
      );
    }
    for (const args of commands) {
      const stderr = assertOneLineError(await runCliInProcess(['--redis', url, ...args]), 1, args.join(' '));
      assert.match(stderr, new RegExp(`^personal-token: cannot reach Redis at ${url}: connect ECONNREFUSED`));
    }
  });

  test('a hung Redis (connections accepted, nothing answered): exit 1 naming the URL, no hanging', async () => {
    const server = await startRedis();
    try {
      server.pause();
      const run = await runCli(['--redis', server.url, 'create', '-u', 'admin', '-e', '1h'], {
        killAfterMs: 10_000,
      });
      assert.match(
        assertOneLineError(run, 1, 'hung Redis'),
        new RegExp(`^personal-token: cannot reach Redis at ${server.url}: `),
      );
    } finally {
      await server.stop();
    }
  });

  test('a password in the URL is never printed', async () => {
    const port = await freePort();
    const run = await runCliInProcess([
      '--redis',
      `redis://:s3cret-pass@127.0.0.1:${port}`,
      'list',
      '-u',
      'admin',
    ]);
    const stderr = assertOneLineError(run, 1, 'password');
    assert.match(stderr, new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}:`));
    assert.ok(!stderr.includes('s3cret'));
  });

  test('without --redis, $REDIS_URL is used; --redis wins over it', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const env = { ...process.env, REDIS_URL: url };
    const fromEnv = await runCli(['list', '-u', 'admin'], { env });
    assert.match(assertOneLineError(fromEnv, 1, '$REDIS_URL'), new RegExp(`cannot reach Redis at ${url}:`));
    const overridden = await runCliInProcess(
      ['--redis', TEST_REDIS_URL, '--prefix', cliPrefix(), 'list', '-u', 'x'],
      {
        env,
      },
    );
    assert.equal(overridden.code, 0, overridden.stderr);
  });
});

describe('personal-token --help', () => {
  test('the program and each command describe themselves on stdout, exit 0', async () => {
    const [program, create] = await Promise.all([runCli(['--help']), runCli(['create', '--help'])]);
    const list = await runCliInProcess(['list', '-h']);
    const inspect = await runCliInProcess(['inspect', '--help']);
    const revoke = await runCliInProcess(['revoke', '-h']);
    for (const run of [program, create, list, inspect, revoke]) {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
    }
    assert.match(
      program!.stdout,
      /^Usage: personal-token \[--redis <url>\] \[--prefix <prefix>\] \[--postgres \[url\]\] \[--config <file>\]/,
    );
    assert.match(
      program!.stdout,
      /--postgres \[url\][\s\S]*\$DATABASE_URL/,
      '--postgres alone reads $DATABASE_URL',
    );
    for (const command of ['create', 'list', 'inspect', 'revoke']) {
      assert.match(program!.stdout, new RegExp(`^  ${command} `, 'm'));
    }
    const flags = [
      '-u, --user',
      '-e, --expire',
      '-a, --auto',
      '-s, --scope',
      '-l, --label',
      '-q, --quiet',
      '-h, --help',
    ];
    for (const flag of flags) assert.ok(create!.stdout.includes(flag), flag);
    assert.match(create!.stdout, /personal-token create -u admin -a 10m -e 30d -s node:3f2a:r/);
    assert.match(
      list.stdout,
      /^Usage: personal-token list -u <login> \[--limit <n>\] \[--cursor <cursor>\] \[--json\]/,
    );
    assert.match(inspect.stdout, /sliding token is not\s+refreshed/);
    assert.match(revoke.stdout, /^Usage: personal-token revoke <id>\.\.\. \| --user <login> --all/);
  });
});
