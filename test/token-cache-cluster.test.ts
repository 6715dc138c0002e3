// The token cache on Redis Cluster (3 masters, 3 replicas): PUBLISH reaches every node, each
// process subscribes on one node, moves to another when it loses it, and the caches are dropped
// meanwhile.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cluster, ClusterOptions } from 'ioredis';
import type { Check } from '../lib/check/token-checker';
import { type IssuedToken, TokenService } from '../lib/index';
import { observedStore } from './support/observed-store';
import { type RedisClusterHandle, startCluster } from './support/redis-cluster';
import { askRedis } from './support/redis-connections';
import { waitFor } from './support/wait-for';

const CLUSTER_OPTIONS: ClusterOptions = {
  redisOptions: { commandTimeout: 1000, connectTimeout: 1000, socketTimeout: 1000, maxRetriesPerRequest: 0 },
  clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 500),
};

function check(tokens: TokenService, token: string): Promise<Check> {
  return tokens.checker.check(token, undefined, undefined);
}

async function readyClient(handle: RedisClusterHandle): Promise<Cluster> {
  const client = handle.cluster(CLUSTER_OPTIONS);
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

describe('TokenService cache on Redis Cluster', () => {
  let handle: RedisClusterHandle;
  const services: TokenService[] = [];
  before(async () => {
    handle = await startCluster();
  });
  after(async () => {
    for (const service of services) await service.close();
    await handle?.stop();
  });

  test('revocations reach the other process through any node, also after its node is lost and after a failover', async () => {
    const one = observedStore(await readyClient(handle));
    const two = observedStore(await readyClient(handle), { prefix: one.store.prefix });
    const first = new TokenService({ store: one.store, cache: { maxStale: '1h' } });
    const second = new TokenService({ store: two.store, cache: { maxStale: '1h' } });
    services.push(first, second);
    const bothHealthy = (from = [0, 0]) =>
      waitFor(
        'both channels healthy',
        async () =>
          one.health.slice(from[0]).at(-1) === true && two.health.slice(from[1]).at(-1) === true
            ? true
            : undefined,
        { timeoutMs: 30_000 },
      );
    await bothHealthy();
    const issued: IssuedToken[] = [];
    for (let i = 0; i < 3; i++) issued.push(await first.issue({ user: 'ann', expiresIn: '1h' }));
    const fill = async () => {
      for (const service of [first, second]) for (const { token } of issued) await check(service, token);
    };
    const revokedEverywhere = async (token: IssuedToken) => {
      assert.equal(await first.revoke(token.id), true);
      await waitFor('the message', async () => (two.heard.includes(token.id) ? true : undefined));
      assert.equal((await check(second, token.token)).ok, false);
    };
    await fill();
    const calls = two.verifies();
    await fill();
    assert.equal(two.verifies(), calls, `health: ${one.health} / ${two.health}`);
    await revokedEverywhere(issued[0]!);

    // Every node drops its pub/sub connections: each process hears it and subscribes elsewhere.
    const seen = [one.health.length, two.health.length];
    for (const node of handle.nodes)
      await askRedis(node.port, (redis) => redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
    await waitFor('both drops to be heard', async () =>
      one.health.slice(seen[0]).includes(false) && two.health.slice(seen[1]).includes(false)
        ? true
        : undefined,
    );
    await bothHealthy(seen);
    const before = two.verifies();
    await check(second, issued[1]!.token);
    assert.equal(two.verifies(), before + 1, `health: ${one.health} / ${two.health}`);
    await revokedEverywhere(issued[1]!);

    // A master killed: a replica takes over; the channel still carries revocations.
    const master = (await handle.topology()).find((node) => node.role === 'master' && !node.failed)!;
    await handle.killNode(handle.nodes.find((node) => node.port === master.port)!);
    await bothHealthy([one.health.length - 1, two.health.length - 1]);
    // A token issued after the failover: one written just before it may be lost with the old master
    // (replication is asynchronous), and then there is nothing left to revoke.
    issued.push(await first.issue({ user: 'ann', expiresIn: '1h' }));
    await fill();
    await revokedEverywhere(issued[3]!);
  });
});
