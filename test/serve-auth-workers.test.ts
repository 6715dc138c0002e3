// `personal-token serve-auth --workers N`: N processes answer on one port, one that dies is replaced
// while the others go on answering, SIGTERM drains them all and exits 0, and a bad value is a usage error.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { availableParallelism } from 'node:os';
import { after, describe, test } from 'node:test';
import { RedisTokenStore } from '../adapters/redis';
import { parseServeAuthOptions } from '../cli/serve-auth';
import { TokenService } from '../lib/index';
import { runCli, runCliInProcess } from './cli-support';
import { ownedTempDir } from './support/owned-processes';
import { startRedis, stopAllRedis } from './support/redis-server';
import { startServeAuth, stopChild } from './support/reverse-proxy';
import { waitFor } from './support/wait-for';

/** The serve-auth processes whose parent is `pid` (Linux: /proc); not tsx's esbuild beside them. */
function workersOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        // After the command's parenthesised name: state, then the parent's pid.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const serveAuth = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes('serve-auth');
        return parent === pid && serveAuth ? [Number(entry)] : [];
      } catch {
        return []; // gone meanwhile
      }
    });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('personal-token serve-auth --workers', () => {
  after(() => stopAllRedis());

  test('--workers is a whole number from 1 to 64 or auto, 1 by default; anything else is exit 2 naming it', async () => {
    assert.equal(parseServeAuthOptions({}).workers, 1);
    assert.equal(parseServeAuthOptions({ workers: '64' }).workers, 64);
    assert.equal(parseServeAuthOptions({ workers: 'auto' }).workers, Math.min(availableParallelism(), 64));
    for (const workers of ['0', '65', '100', '1.5', 'two', '', ' 2', '2x', '0x2', '1e1', 'AUTO']) {
      const run = await runCliInProcess(['serve-auth', '--workers', workers, '--listen', '127.0.0.1:0'], {
        env: {},
      });
      assert.equal(run.code, 2, `--workers ${JSON.stringify(workers)}`);
      assert.match(
        run.stderr,
        /^personal-token serve-auth: --workers must be a whole number from 1 to 64, or auto/,
      );
      assert.doesNotMatch(run.stderr, /listening/);
    }
  });

  test('two workers answer; one killed is replaced while requests go on; SIGTERM drains both, exit 0', {
    timeout: 120_000,
  }, async () => {
    const redis = await startRedis();
    const tokens = new TokenService({ store: new RedisTokenStore(redis.client(), { prefix: 'pat:' }) });
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const server = await startServeAuth(
      ['--redis', redis.url],
      ownedTempDir('serve-auth-workers'),
      undefined,
      ['--workers', '2'],
    );
    // A connection of its own per request: one kept alive to the worker that is killed dies with it
    // (a proxy retries such a request on another connection); every new one must be answered.
    const ask = () =>
      new Promise<[number | undefined, string | string[] | undefined]>((resolve, reject) => {
        const headers = {
          authorization: `Bearer ${token}`,
          'x-original-method': 'GET',
          'x-original-uri': '/a',
        };
        // A hang guard, far above a healthy answer's time.
        get(`${server.url}/auth`, { agent: false, headers, timeout: 20_000 }, (res) => {
          res.resume();
          resolve([res.statusCode, res.headers['x-auth-user']]);
        })
          .on('timeout', () => reject(new Error('no answer')))
          .on('error', reject);
      });
    try {
      await waitFor(
        'the startup line',
        async () => (/listening on/.test(server.output()) ? true : undefined),
        {
          timeoutMs: 30_000,
          intervalMs: 50,
        },
      );
      // One line for all the workers, saying how many.
      assert.equal(server.output().match(/listening on/g)?.length, 1);
      assert.match(
        server.output(),
        /listening on http:\/\/127\.0\.0\.1:\d+\/auth \(tokens in Redis at .*; 2 workers\)/,
      );
      const workers = await waitFor(
        'two workers',
        async () => {
          const found = workersOf(server.child.pid!);
          return found.length === 2 ? found : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      for (let i = 0; i < 10; i++) assert.deepEqual(await ask(), [200, 'admin']);

      const [killed, survivor] = workers as [number, number];
      process.kill(killed, 'SIGKILL');
      // Once the primary knows (a connection it handed the dying worker is lost with it), the other
      // worker answers every request while the new one starts.
      const exited = new RegExp(`worker ${killed} exited \\(SIGKILL\\); a new one in \\d+ ms`);
      await waitFor(
        'the primary to see the worker die',
        async () => exited.test(server.output()) || undefined,
        {
          timeoutMs: 30_000,
          intervalMs: 20,
        },
      );
      for (let i = 0; i < 10; i++) assert.deepEqual(await ask(), [200, 'admin']);
      const replaced = await waitFor(
        'a new worker in place of the killed one',
        async () => {
          const found = workersOf(server.child.pid!);
          return found.length === 2 && !found.includes(killed) ? found : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      assert.ok(replaced.includes(survivor));
      assert.match(
        server.output(),
        new RegExp(`worker ${killed} exited \\(SIGKILL\\); a new one in \\d+ ms`),
      );
      for (let i = 0; i < 10; i++) assert.deepEqual(await ask(), [200, 'admin']);
      // The primary's process never crashed for it.
      assert.equal(server.child.exitCode, null);

      await stopChild(server.child);
      assert.equal(server.child.exitCode, 0, server.output());
      assert.match(server.output(), /SIGTERM, stopping 2 workers/);
      for (const pid of replaced) assert.equal(alive(pid), false, `worker ${pid} is gone`);
    } finally {
      await stopChild(server.child);
    }
  });

  test('workers that cannot start (Redis unreachable): exit 1, as a single serve-auth, no restarts', {
    timeout: 120_000,
  }, async () => {
    // A real process: the workers are this very command line, run by cli/main.ts.
    const run = await runCli(['--redis', 'redis://127.0.0.1:1', 'serve-auth', '--workers', '2'], {
      env: { PATH: process.env.PATH },
      killAfterMs: 60_000,
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    assert.doesNotMatch(run.stderr, /listening|a new one in/);
  });
});
