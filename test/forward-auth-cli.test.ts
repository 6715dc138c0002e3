// `personal-token serve-auth`: its command line, and a long run's Redis outage (503, then back).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { RedisTokenStore } from '../adapters/redis';
import { parseServeAuthOptions } from '../cli/serve-auth';
import { TokenService } from '../lib/index';
import { runCliInProcess } from './cli-support';
import { ownedTempDir } from './support/owned-processes';
import { startRedis, stopAllRedis } from './support/redis-server';
import { startServeAuth, stopChild } from './support/reverse-proxy';
import { waitFor } from './support/wait-for';

// The CLI with an empty environment, so no $REDIS_URL of the machine's leaks in.
const cli = (...argv: string[]) => runCliInProcess(argv, { env: {} });

describe('personal-token serve-auth', () => {
  after(() => stopAllRedis());

  test('--listen, --trust-proxy and --throttle are checked before anything is opened', () => {
    assert.deepEqual(parseServeAuthOptions({}), {
      host: '127.0.0.1',
      port: 9180,
      trustProxy: 'loopback',
      throttle: undefined,
      workers: 1,
    });
    assert.deepEqual(
      parseServeAuthOptions({ listen: '[::1]:0', throttle: '10/15m', trustProxy: '10.0.0.0/8' }),
      {
        host: '::1',
        port: 0,
        trustProxy: '10.0.0.0/8',
        throttle: { maxFailures: 10, window: '15m' },
        workers: 1,
      },
    );
    for (const listen of ['9180', 'localhost', ':9180', '127.0.0.1:99999', '127.0.0.1:x', '[::1:9180']) {
      assert.throws(() => parseServeAuthOptions({ listen }), { name: 'UsageError' }, listen);
    }
    for (const throttle of ['10', '0/1m', '/1m', 'ten/1m', '10/']) {
      assert.throws(() => parseServeAuthOptions({ throttle }), { name: 'UsageError' }, throttle);
    }
  });

  test('a bad command line is exit 2 with the usage; an unreachable Redis exit 1, nothing served', async () => {
    const usage = await cli('serve-auth', '--listen', 'nowhere');
    assert.equal(usage.code, 2);
    assert.match(
      usage.stderr,
      /^personal-token serve-auth: --listen must be host:port.*; usage: personal-token serve-auth \[--listen/,
    );
    const unreachable = await cli('--redis', 'redis://127.0.0.1:1', 'serve-auth', '--listen', '127.0.0.1:0');
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    assert.doesNotMatch(unreachable.stderr, /listening/);
  });

  test('Redis restarts under a running serve-auth: 503 meanwhile, then tokens work again', async () => {
    const redis = await startRedis({ aof: true });
    const tokens = new TokenService({ store: new RedisTokenStore(redis.client(), { prefix: 'pat:' }) });
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const server = await startServeAuth(['--redis', redis.url], ownedTempDir('serve-auth'));
    const ask = async () => {
      const res = await fetch(`${server.url}/auth`, {
        headers: { authorization: `Bearer ${token}`, 'x-original-method': 'GET', 'x-original-uri': '/a' },
      });
      return res.status;
    };
    try {
      assert.equal(await ask(), 200);
      await redis.kill();
      assert.equal(await ask(), 503);
      await redis.restart();
      // A CLI connection that never reconnects would answer 503 for good.
      await waitFor(
        'serve-auth to answer 200 again',
        async () => ((await ask()) === 200 ? true : undefined),
        {
          timeoutMs: 20_000,
          intervalMs: 200,
        },
      );
    } finally {
      await stopChild(server.child);
    }
  });
});
