// Secret hygiene: after a workload that uses every public path (issue, Bearer and Basic, wrong
// logins, bent tokens, a token typed in the login field, list, inspect, rotate, revoke, revokeAll,
// throttling, an outage), no token, nor its secret part, appears anywhere it could be read later:
// not in any Redis key or value, not in the AOF on disk, not in any command Redis received
// (MONITOR), not in the audit log, not on the console, not in any response. Then the shared test
// Redis is scanned for anything shaped like a token, left by any test file of the suite.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { RedisTokenStore } from '../adapters/redis';
import { type IssuedToken, personalTokenAuth, pinoEventLogger, TokenService } from '../lib/index';
import { type AuthServer, startAuthServer } from './support/auth-server';
import { basic, bearer, type HttpResult, httpGet } from './support/http-load';
import { connectTestRedis } from './support/redis';
import { monitorRedis, type RedisMonitor } from './support/redis-monitor';
import { type RedisServer, startRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

/** Anything shaped like a token of the default prefix (what a leak would look like). */
const TOKEN_SHAPE = /pat_[0-9a-f]{16}[A-Za-z0-9_-]{43}[0-9a-z]{17}[0-9A-Za-z]{6}/;

/** Every readable thing in a Redis, as text: key names, and all values of every type. */
async function dumpRedis(client: Redis, match = '*'): Promise<string[]> {
  const texts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    texts.push(...keys);
    const types = ((await client.pipeline(keys.map((key) => ['type', key])).exec()) ?? []).map(
      ([, type]) => type as string,
    );
    const reads = client.pipeline();
    keys.forEach((key, i) => {
      // A key may expire or be deleted by another test between SCAN and the read: that is fine.
      const type = types[i];
      if (type === 'hash') reads.hgetall(key);
      else if (type === 'zset') reads.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'set') reads.smembers(key);
      else if (type === 'list') reads.lrange(key, 0, -1);
      else if (type === 'string') reads.get(key);
      else if (type === 'stream') reads.xrange(key, '-', '+');
    });
    for (const [, value] of (await reads.exec()) ?? []) texts.push(JSON.stringify(value));
  } while (cursor !== '0');
  return texts;
}

function readTree(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? readTree(path) : [readFileSync(path).toString('latin1')];
  });
}

describe('secret hygiene', () => {
  let redis: RedisServer;
  let client: Redis;
  let monitor: RedisMonitor;
  let tokens: TokenService;
  let app: AuthServer;
  const issued: IssuedToken[] = [];
  const logLines: string[] = [];
  const consoleLines: string[] = [];
  const responses: HttpResult[] = [];
  const errors: string[] = [];
  const originalConsole = { log: console.log, error: console.error, warn: console.warn, info: console.info };

  before(async () => {
    // A Redis of its own, with AOF (so the file on disk can be read) and MONITOR (every command
    // it receives, with all arguments).
    redis = await startRedis({ aof: true });
    monitor = await monitorRedis(redis.port);
    client = redis.client({ commandTimeout: 500, maxRetriesPerRequest: 0 });
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    tokens = new TokenService({
      store: new RedisTokenStore(client),
      trackIp: true,
      onEvent: pinoEventLogger(pino({ level: 'debug' }, sink)),
      timeout: 500,
    });
    app = await startAuthServer(personalTokenAuth({ tokens, throttle: { maxFailures: 1000, window: '1m' } }));
    for (const method of ['log', 'error', 'warn', 'info'] as const) {
      console[method] = (...args: unknown[]) => {
        consoleLines.push(args.map(String).join(' '));
      };
    }
  });

  after(async () => {
    Object.assign(console, originalConsole);
    monitor?.stop();
    await app?.close();
    await redis?.stop();
  });

  test('a workload over every public path', async () => {
    const ask = async (headers: Record<string, string>) => {
      const response = await httpGet(`${app.url}/whoami`, headers);
      responses.push(response);
      return response.status;
    };
    const alice = await tokens.issue({
      user: 'alice',
      expiresIn: '1h',
      label: 'laptop',
      scopes: ['node:n1:rw'],
    });
    const bob = await tokens.issue({ user: 'bob', autoRefresh: '10m' });
    issued.push(alice, bob);
    assert.equal(await ask(bearer(alice.token)), 200);
    assert.equal(await ask(basic('bob', bob.token)), 200);
    assert.equal(await ask(basic('alice', bob.token)), 401, 'another user');
    // People paste the token in the wrong field: as the login, or as both.
    assert.equal(await ask(basic(alice.token, alice.token)), 401);
    assert.equal(await ask(basic(bob.token, 'x')), 401);
    const bent = alice.token.slice(0, -1) + (alice.token.endsWith('x') ? 'y' : 'x');
    assert.equal(await ask(bearer(bent)), 401, 'bad checksum');
    assert.equal(await ask(bearer(alice.token.slice(0, 40))), 401, 'cut short');
    assert.equal(
      await ask({ authorization: `Bearer ${alice.token} ${alice.token}` }),
      400,
      'malformed header',
    );
    assert.equal(await ask({ authorization: `Token ${alice.token}` }), 401, 'unknown scheme');
    await tokens.list('alice');
    await tokens.inspect(alice.id);
    const rotated = await tokens.rotate(bob.id, { overlap: '1m' });
    assert.ok(rotated);
    issued.push(rotated);
    assert.equal(await ask(bearer(rotated.token)), 200);
    assert.equal(await tokens.revoke(alice.id), true);
    assert.equal(await ask(bearer(alice.token)), 401, 'revoked');
    const carol = await Promise.all([1, 2].map(() => tokens.issue({ user: 'carol', expiresIn: '1h' })));
    issued.push(...carol);
    assert.equal(await tokens.revokeAll('carol'), 2);
    assert.equal(await ask(basic('carol', carol[0]!.token)), 401);

    // An outage: the errors on the way must not carry a token either.
    const survivor = await tokens.issue({ user: 'dave', expiresIn: '1h' });
    issued.push(survivor);
    redis.pause();
    assert.equal(await ask(bearer(survivor.token)), 503);
    await tokens
      .verify(survivor.token)
      .catch((error: Error) => errors.push(`${error.message} ${error.cause}`));
    await tokens.issue({ user: 'dave', expiresIn: '1h' }).catch((error: Error) => errors.push(error.message));
    redis.resume();
    await waitFor('the store to answer again', async () =>
      (await ask(bearer(survivor.token))) === 200 ? true : undefined,
    );
    assert.ok(errors.length >= 2, 'the outage produced errors to check');
    assert.ok(logLines.length > 10 && monitor.commands.length > 20, 'there is something to scan');
  });

  test('no token or secret in Redis, its AOF, the commands it received, logs or responses', async () => {
    assert.ok(issued.length >= 5, 'the workload ran');
    const needles = issued.flatMap((token) => [
      token.token,
      token.token.slice(4), // without the prefix
      token.token.slice(4 + 16, 4 + 16 + 43), // the secret part alone
    ]);
    const haystacks: Record<string, string[]> = {
      'Redis keys and values': await dumpRedis(client),
      'AOF files': readTree(join(redis.dir, 'appendonlydir')),
      'commands Redis received (MONITOR)': monitor.commands.map((command) => command.line),
      'audit log lines': logLines,
      'console output': consoleLines,
      'error messages': errors,
      'response headers and bodies': responses.map((r) => JSON.stringify(r.headers) + r.body),
    };
    assert.ok(
      haystacks['Redis keys and values']!.length > 5 && haystacks['AOF files']!.join('').length > 100,
    );
    const leaks: string[] = [];
    for (const [where, texts] of Object.entries(haystacks)) {
      for (const text of texts) {
        if (needles.some((needle) => text.includes(needle)) || TOKEN_SHAPE.test(text)) {
          // Where, with every token masked, so that the failure message itself leaks nothing.
          let masked = text.replace(new RegExp(TOKEN_SHAPE, 'g'), '<TOKEN>');
          for (const needle of needles) masked = masked.split(needle).join('<SECRET>');
          leaks.push(`${where}: ${masked.slice(0, 300)}`);
        }
      }
    }
    assert.deepEqual(leaks, [], 'a token or its secret is readable after the workload');
  });

  test('the shared test Redis holds nothing shaped like a token', async () => {
    // Whatever the other test files are doing right now: their keys are scanned as they are.
    const shared = connectTestRedis();
    try {
      const texts = await dumpRedis(shared);
      const leaks = texts.filter((text) => TOKEN_SHAPE.test(text));
      assert.deepEqual(
        leaks.map((text) => text.slice(0, 40)),
        [],
        'token-shaped text in the shared Redis',
      );
    } finally {
      await shared.quit();
    }
  });
});
