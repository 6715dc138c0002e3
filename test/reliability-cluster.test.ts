// The Redis store on a real Redis Cluster (3 masters + 3 replicas on loopback ports): the store
// conformance suite, the middleware end to end, and a master killed under load, through an ioredis
// Cluster configured as the README recommends.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cluster, ClusterOptions } from 'ioredis';
import { RedisTokenStore } from '../adapters/redis';
import { personalTokenAuth, TokenLimitError, TokenService } from '../lib/index';
import { conformanceCaseNames } from '../testing/check-token-store';
import { testTokenStore } from '../testing/node-test';
import { type AuthServer, startAuthServer } from './support/auth-server';
import { assertFailoverVerdict, issuePopulation, loadThroughFault } from './support/failover-load';
import { basic, bearer, httpGet } from './support/http-load';
import { waitReal } from './support/redis';
import { type RedisClusterHandle, startCluster } from './support/redis-cluster';
import { remoteInvalidations } from './support/redis-conformance';
import { askRedis } from './support/redis-connections';
import type { RedisServer } from './support/redis-server';

const TIMEOUT_MS = 1000;
const MARGIN_MS = 750;

/** The Cluster client options the README recommends for an authentication path. */
const CLUSTER_OPTIONS: ClusterOptions = {
  redisOptions: {
    commandTimeout: TIMEOUT_MS,
    connectTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
  },
  clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 500),
};

// One cluster for the whole file: it takes seconds to form.
let clusterPromise: Promise<RedisClusterHandle> | undefined;
const cluster = () => {
  clusterPromise ??= startCluster();
  return clusterPromise;
};
after(async () => {
  await (await clusterPromise)?.stop();
});

async function readyClient(handle: RedisClusterHandle): Promise<Cluster> {
  const client = handle.cluster(CLUSTER_OPTIONS);
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

testTokenStore(
  'RedisTokenStore (Redis Cluster)',
  async () => {
    const handle = await cluster();
    const client = await readyClient(handle);
    const others: Cluster[] = [];
    return {
      store: new RedisTokenStore(client, { prefix: 'conformance:' }),
      advance: waitReal,
      remoteChannel: async () => {
        const other = await readyClient(handle);
        others.push(other);
        return remoteInvalidations(other, 'conformance:invalidated');
      },
      // The cluster is this file's own: every pub/sub connection on it is the channel's.
      dropSubscriptions: async () => {
        for (const node of handle.nodes.filter((each) => each.running))
          await askRedis(node.port, (redis) => redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
      },
      cleanup: async () => {
        client.disconnect();
        for (const other of others) other.disconnect();
      },
    };
  },
  {
    // Cluster replicas are not awaited (no durableRevocation here): the failover case runs on a master + replica elsewhere.
    notOffered: conformanceCaseNames.filter((name) => name.startsWith('failover:')),
  },
);

describe('personalTokenAuth() through an ioredis Cluster', () => {
  let handle: RedisClusterHandle;
  let client: Cluster;
  let tokens: TokenService;
  let app: AuthServer;

  before(async () => {
    handle = await cluster();
    client = await readyClient(handle);
    tokens = new TokenService({ store: new RedisTokenStore(client), timeout: TIMEOUT_MS });
    app = await startAuthServer(personalTokenAuth({ tokens }));
  });
  after(async () => {
    await app?.close();
    client?.disconnect();
  });

  test('keys of one token share a slot; tokens and users spread over the masters', async () => {
    const issued = await Promise.all(
      Array.from({ length: 30 }, (_, i) => tokens.issue({ user: `spread${i}`, expiresIn: '1h' })),
    );
    const owners = new Set<RedisServer>();
    for (const token of issued) owners.add(await handle.masterForKey(`pat:t:{${token.id}}`));
    assert.equal(owners.size, 3, 'token keys land on every master');
    // The hash tag decides the slot: anything outside the braces does not move the key.
    assert.equal(
      await handle.masterForKey(`pat:t:{${issued[0]!.id}}`),
      await handle.masterForKey(issued[0]!.id),
    );
  });

  test('Bearer and Basic pass, list/revoke/revokeAll work across slots', async () => {
    const login = 'carol';
    const issued = await Promise.all(
      Array.from({ length: 6 }, (_, i) => tokens.issue({ user: login, autoRefresh: '10m', label: `t${i}` })),
    );
    const whoami = (headers: Record<string, string>) => httpGet(`${app.url}/whoami`, headers);
    const first = await whoami(bearer(issued[0]!.token));
    assert.equal(first.status, 200);
    assert.deepEqual(JSON.parse(first.body), { login, tokenId: issued[0]!.id, scheme: 'bearer' });
    assert.equal((await whoami(basic(login, issued[1]!.token))).status, 200);
    assert.equal((await whoami(basic('mallory', issued[1]!.token))).status, 401);
    assert.deepEqual(
      new Set((await tokens.list(login)).map((info) => info.id)),
      new Set(issued.map((token) => token.id)),
    );
    assert.equal(await tokens.revoke(issued[0]!.id), true);
    assert.equal((await whoami(bearer(issued[0]!.token))).status, 401);
    assert.equal(await tokens.revokeAll(login), 5);
    for (const token of issued) assert.equal((await whoami(bearer(token.token))).status, 401);
    assert.deepEqual(await tokens.list(login), []);
  });

  test('200 issues racing at 95 of maxTokensPerUser 100: exactly 5 succeed, and the user has exactly 100', async (t) => {
    const login = 'dora';
    await Promise.all(Array.from({ length: 95 }, () => tokens.issue({ user: login, expiresIn: '1h' })));
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () => tokens.issue({ user: login, expiresIn: '1h' })),
    );
    const issued = results.filter((result) => result.status === 'fulfilled').length;
    const refused = results.filter(
      (result) => result.status === 'rejected' && result.reason instanceof TokenLimitError,
    ).length;
    t.diagnostic(`Redis Cluster: ${issued} issued, ${refused} refused, of 200`);
    assert.deepEqual({ issued, refused }, { issued: 5, refused: 195 });
    assert.equal((await tokens.list(login)).length, 100);
    assert.equal(await tokens.revokeAll(login), 100);
  });

  test('a master killed under load: 503 while it fails over, then live tokens pass and revoked stay out', {
    timeout: 60_000,
  }, async (t) => {
    const victim = await handle.masterForKey('pat:t:{0000000000000000}');
    const onVictim = async (id: string) => (await handle.masterForKey(`pat:t:{${id}}`)) === victim;
    // A third of the tokens live on the victim by chance; make sure enough of each kind do.
    const population = await issuePopulation(
      tokens,
      { live: 24, revoked: 12 },
      async (token, _kind, kept) => {
        const wanted = kept.length % 2 === 0; // every other kept token on the victim
        return (await onVictim(token.id)) === wanted;
      },
    );
    // Replication is asynchronous: a revocation the replica has not received yet would be lost
    // with the master (see the README). This test is about the failover itself.
    await handle.waitForReplication();

    const run = await loadThroughFault(`${app.url}/whoami`, population, () => handle.killNode(victim));
    const report = assertFailoverVerdict(run, {
      maxLatencyMs: TIMEOUT_MS + MARGIN_MS,
    });
    t.diagnostic(`cluster master kill: ${JSON.stringify(report)}`);

    // And afterwards, from scratch: every live token passes, every revoked one is refused.
    for (const token of population.live) {
      assert.equal((await httpGet(`${app.url}/whoami`, bearer(token.token))).status, 200);
    }
    for (const token of population.revoked) {
      assert.equal((await httpGet(`${app.url}/whoami`, bearer(token.token))).status, 401);
      assert.equal(await tokens.inspect(token.id), null);
    }
  });
});
