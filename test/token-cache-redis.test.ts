import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { RedisTokenStore } from '../adapters/redis';
import type { Check } from '../lib/check/token-checker';
import { StoreUnavailableError, TokenService, type TokenServiceOptions } from '../lib/index';
import type { WorkerMessage } from './support/cache-worker';
import { observedStore } from './support/observed-store';
import { track } from './support/owned-processes';
import { connectTestRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from './support/redis';
import { monitorRedis } from './support/redis-monitor';
import { type RedisServer, startRedis } from './support/redis-server';
import { waitFor } from './support/wait-for';

function check(tokens: TokenService, token: string): Promise<Check> {
  return tokens.checker.check(token, undefined, undefined);
}

const healthy = (health: boolean[]) =>
  waitFor('the channel to be healthy', async () => (health.at(-1) ? true : undefined));

describe('TokenService cache on Redis (a server of its own)', () => {
  let server: RedisServer;
  const services: TokenService[] = [];
  before(async () => {
    server = await startRedis({ aof: true });
  });
  after(async () => {
    for (const service of services) await service.close();
    await server.stop();
  });

  function setup(cache: TokenServiceOptions['cache'], now?: () => number) {
    const client = server.client({ maxRetriesPerRequest: 1 });
    const observed = observedStore(client, now ? { now } : {});
    const tokens = new TokenService({ store: observed.store, cache });
    services.push(tokens);
    return { client, tokens, ...observed };
  }

  test('a hit sends Redis no command; an unknown token sends one every time; the bound holds', async () => {
    const { client, tokens, store, health, verifies } = setup({ maxStale: '1h', maxEntries: 20 });
    await healthy(health);
    const { token, id } = await tokens.issue({ user: 'ann', expiresIn: '1h' });
    const uncached = new TokenService({
      store: new RedisTokenStore(client, { prefix: `${store.prefix}other:` }),
    });
    const unknown = (await uncached.issue({ user: 'ann', expiresIn: '1h' })).token;
    const monitor = await monitorRedis(server.port);
    try {
      assert.equal((await check(tokens, token)).ok, true);
      for (let i = 0; i < 100; i++) assert.equal((await check(tokens, token)).ok, true);
      for (let i = 0; i < 25; i++) assert.equal((await check(tokens, unknown)).ok, false);
      await monitor.settle(client);
      const about = (text: string) =>
        monitor.commands.filter((command) => command.args.some((arg) => arg.includes(text)));
      // One check that filled the cache: its GET (and the write of its first use).
      assert.equal(
        about(id).filter((command) => command.source !== 'lua' && command.args[0]!.toLowerCase() === 'get')
          .length,
        1,
        about(id)
          .map((command) => command.line)
          .join('\n'),
      );
      const unknownId = unknown.slice(4, 20);
      assert.ok(about(unknownId).length >= 25, `${about(unknownId).length} commands for 25 unknown checks`);
    } finally {
      monitor.stop();
    }
    // maxEntries: 30 tokens through a cache of 20 push the first one out.
    for (let i = 0; i < 30; i++) {
      const issued = await tokens.issue({ user: 'bob', expiresIn: '1h' });
      assert.equal((await check(tokens, issued.token)).ok, true);
    }
    const calls = verifies();
    assert.equal((await check(tokens, token)).ok, true);
    assert.equal(verifies(), calls + 1);
  });

  test('a key deleted by hand takes effect within maxStale (injected clock)', async () => {
    let offset = 0;
    const { client, tokens, store, health, verifies } = setup({ maxStale: '10s' }, () => Date.now() + offset);
    await healthy(health);
    const { token, id } = await tokens.issue({ user: 'ann', expiresIn: '1h' });
    assert.equal((await check(tokens, token)).ok, true);
    await client.del(store.tokenKey(id));
    // Within the bound the cache may still answer: that is what maxStale allows.
    offset += 9_000;
    assert.equal((await check(tokens, token)).ok, true);
    assert.equal(verifies(), 1);
    offset += 1_000;
    const refused = await check(tokens, token);
    assert.equal(refused.ok, false);
    assert.equal(verifies(), 2);
  });

  test("the channel's connection killed (CLIENT KILL TYPE pubsub): the cache is dropped, then fills again once subscribed", async () => {
    const { client, tokens, health, verifies } = setup({ maxStale: '1h' });
    await healthy(health);
    const { token } = await tokens.issue({ user: 'ann', expiresIn: '1h' });
    await check(tokens, token);
    await check(tokens, token);
    assert.equal(verifies(), 1);
    const seen = health.length;
    assert.ok(((await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub')) as number) >= 1);
    await waitFor('the drop to be heard', async () =>
      health.slice(seen).includes(false) ? true : undefined,
    );
    // Dropped: whatever the state of the new subscription, the next check goes to Redis.
    assert.equal((await check(tokens, token)).ok, true);
    assert.equal(verifies(), 2);
    await waitFor('the channel to be back', async () =>
      health.slice(seen).at(-1) === true ? true : undefined,
    );
    await check(tokens, token);
    const filled = verifies();
    await check(tokens, token);
    assert.equal(verifies(), filled);
  });

  // Two services of one process on one store (the middleware's and an admin task's): once revoke()
  // resolves, no request that starts later may be accepted here, message or no message yet.
  test('a revocation is refused at once by every service of this process on the store', async () => {
    const { client, tokens, store, health, verifies } = setup({ maxStale: '1h' });
    const other = new TokenService({ store, cache: { maxStale: '1h' } });
    // Another store object on the same client and prefix: the same channel.
    const sameKeys = observedStore(client, { prefix: store.prefix });
    const third = new TokenService({ store: sameKeys.store, cache: { maxStale: '1h' } });
    services.push(other, third);
    await waitFor('every subscription', async () =>
      health.filter(Boolean).length >= 2 && sameKeys.health.at(-1) ? true : undefined,
    );
    for (let round = 0; round < 20; round++) {
      const { token, id } = await tokens.issue({ user: 'ann', expiresIn: '1h' });
      for (const service of [other, third]) assert.equal((await check(service, token)).ok, true);
      const cached = verifies() + sameKeys.verifies();
      for (const service of [other, third]) assert.equal((await check(service, token)).ok, true);
      assert.equal(verifies() + sameKeys.verifies(), cached, 'hits');
      assert.equal(await tokens.revoke(id), true);
      for (const service of [other, third])
        assert.equal((await check(service, token)).ok, false, `round ${round}`);
    }
    // Whatever the order in which this process reads its sockets: heard before the PUBLISH is even sent.
    const { id } = await tokens.issue({ user: 'ann', expiresIn: '1h' });
    const publishing = store.invalidations!.publish([id]);
    assert.ok(sameKeys.heard.includes(id), 'the other store object heard it at once');
    await publishing;
  });

  test('Redis restarted under load: no cached answer while the channel is down, the cache works again after', async () => {
    const { tokens, health, verifies } = setup({ maxStale: '1h' });
    await healthy(health);
    const issued = [];
    for (let i = 0; i < 10; i++) issued.push(await tokens.issue({ user: 'ann', expiresIn: '1h' }));
    for (const { token } of issued) await check(tokens, token);
    // Load: one check after the other, so that each one's store calls are its own.
    let running = true;
    let cachedWhileDown = 0;
    let refusedWhileDown = 0;
    const load = (async () => {
      for (let i = 0; running; i++) {
        const down = health.at(-1) === false;
        const calls = verifies();
        const outcome = await check(tokens, issued[i % issued.length]!.token).catch(
          (error: unknown) => error,
        );
        await new Promise((resolve) => setImmediate(resolve));
        if (!down) continue;
        if (outcome instanceof StoreUnavailableError) refusedWhileDown++;
        else if ((outcome as Check).ok && verifies() === calls) cachedWhileDown++;
      }
    })();
    const seen = health.length;
    await server.kill();
    await waitFor('the drop to be heard', async () =>
      health.slice(seen).includes(false) ? true : undefined,
    );
    await waitFor('a check refused while Redis is down', async () =>
      refusedWhileDown > 0 ? true : undefined,
    );
    await server.restart();
    await waitFor(
      'the channel to be back',
      async () => (health.slice(seen).at(-1) === true ? true : undefined),
      {
        timeoutMs: 30_000,
      },
    );
    running = false;
    await load;
    assert.equal(cachedWhileDown, 0);
    for (const { token } of issued) assert.equal((await check(tokens, token)).ok, true);
    const filled = verifies();
    for (const { token } of issued) assert.equal((await check(tokens, token)).ok, true);
    assert.equal(verifies(), filled);
  });
});

describe('TokenService cache: invalidation across three app processes under load', () => {
  const WORKERS = 3;
  const REVOCATIONS = 60;
  const prefix = uniquePrefix('cache-fleet');
  const store = new RedisTokenStore(connectTestRedis(), { prefix, durableRevocation: false });
  const admin = new TokenService({ store });
  const workers: ChildProcess[] = [];
  after(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await deleteKeys(store.client, prefix);
    store.client.disconnect();
  });

  test(`${REVOCATIONS} revocations: each refused by every process once its message arrived`, async () => {
    const messages: WorkerMessage[][] = [];
    for (let i = 0; i < WORKERS; i++) {
      const worker = track(
        spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            '--conditions=personal-token-auth-source',
            join(__dirname, 'support', 'cache-worker.ts'),
          ],
          {
            env: { ...process.env, REDIS_URL: TEST_REDIS_URL, PREFIX: prefix },
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          },
        ),
      );
      workers.push(worker);
      const received: WorkerMessage[] = [];
      messages.push(received);
      worker.on('message', (message: WorkerMessage) => received.push(message));
    }
    const heardOf = <T extends WorkerMessage['type']>(i: number, type: T) =>
      messages[i]!.filter((message): message is Extract<WorkerMessage, { type: T }> => message.type === type);
    await waitFor(
      'every worker to subscribe',
      async () => (messages.every((_, i) => heardOf(i, 'health').at(-1)?.healthy) ? true : undefined),
      { timeoutMs: 60_000 },
    );
    const issued = [];
    for (let i = 0; i < REVOCATIONS + 20; i++)
      issued.push(await admin.issue({ user: `user${i % 7}`, expiresIn: '1h' }));
    const tokens = issued.map(({ id, token }) => ({ id, token }));
    for (const worker of workers) worker.send({ type: 'tokens', tokens });
    await waitFor('every worker to have the tokens cached', async () =>
      messages.every((_, i) => heardOf(i, 'ready').length === 1) ? true : undefined,
    );
    // A round of hits cost no store call in any process: the tokens are cached everywhere.
    for (let i = 0; i < WORKERS; i++) assert.equal(heardOf(i, 'ready')[0]!.storeCalls, 0);

    const latencies: number[] = [];
    for (const { id } of issued.slice(0, REVOCATIONS)) {
      assert.equal(await admin.revoke(id), true);
      const resolvedAt = performance.timeOrigin + performance.now();
      const evictions = await waitFor(`every process to hear of ${id}`, async () => {
        const found = messages.map((_, i) => heardOf(i, 'evicted').find((message) => message.id === id));
        return found.every(Boolean) ? found : undefined;
      });
      for (const eviction of evictions) {
        // The check made right after the message arrived was refused.
        assert.equal(eviction!.refused, true);
        latencies.push(eviction!.at - resolvedAt);
      }
    }
    for (const worker of workers) worker.send({ type: 'stop' });
    await waitFor('every worker to stop', async () =>
      messages.every((_, i) => heardOf(i, 'done').length === 1) ? true : undefined,
    );
    let checks = 0;
    for (let i = 0; i < WORKERS; i++) {
      const done = heardOf(i, 'done')[0]!;
      // No check that began after a token's message arrived accepted it.
      assert.equal(done.acceptedAfterMessage, 0);
      assert.ok(done.checks > 0);
      checks += done.checks;
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
    console.log(
      `cache invalidation, ${WORKERS} processes, ${REVOCATIONS} revocations, ${checks} checks under load: ` +
        `from revoke() resolving to each process's eviction p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`,
    );
  });
});
