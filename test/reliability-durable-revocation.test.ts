// Revocations that survive a Redis failover (`durableRevocation`): a revoke resolves only once the
// replicas have it, on a plain master + replica, through Sentinel and on a Cluster's shard; and, with
// the option off, the failover that brings a revoked token back.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import express from 'express';
import type { Redis, RedisOptions } from 'ioredis';
import request from 'supertest';
import { RedisTokenStore, type RedisTokenStoreOptions } from '../adapters/redis';
import { tokenRouter } from '../lib/http/token-router';
import { type IssuedToken, TokenService } from '../lib/index';
import { checkTokenStore, type StoreHarness } from '../testing/index';
import { testTokenStore } from '../testing/node-test';
import { runCliInProcess } from './cli-support';
import { type HeldLink, startHeldLink } from './support/held-link';
import { uniquePrefix, waitReal } from './support/redis';
import { startCluster } from './support/redis-cluster';
import { remoteInvalidations } from './support/redis-conformance';
import { askRedis, infoField } from './support/redis-connections';
import { replicateFrom } from './support/redis-replication';
import { startSentinel } from './support/redis-sentinel';
import { type RedisServer, startRedis, stopAllRedis } from './support/redis-server';
import { testSession } from './support/test-session';
import { waitFor } from './support/wait-for';

const TRIALS = 100;
/** Master + replica pairs the trials share out: each trial kills one master. */
const PAIRS = 4;

const CLIENT_OPTIONS: RedisOptions = { maxRetriesPerRequest: 0, retryStrategy: () => null };
// A full resync right away, not after the default 5 s wait for more replicas.
const PAIR_ARGS = ['--repl-diskless-sync-delay', '0'];

after(() => stopAllRedis());

interface Pair {
  master: RedisServer;
  replica: RedisServer;
}

async function startPair(): Promise<Pair> {
  const [master, replica] = await Promise.all([
    startRedis({ extraArgs: PAIR_ARGS }),
    startRedis({ extraArgs: PAIR_ARGS }),
  ]);
  await replicateFrom(replica, master.port);
  return { master, replica };
}

function clientOf(server: RedisServer): Redis {
  const client = server.client(CLIENT_OPTIONS);
  client.on('error', () => {});
  return client;
}

/**
 * The service's deadline only as a guard on a loaded machine: a revocation that meets it would fail
 * with ERR_STORE_UNAVAILABLE, not say what the replicas did.
 */
const GUARD_TIMEOUT = 5000;

function serviceOn(client: Redis, options: RedisTokenStoreOptions = {}): TokenService {
  return new TokenService({ store: new RedisTokenStore(client, options), timeout: GUARD_TIMEOUT });
}

/** Issues a token and waits until the replica has it: what a failover then decides is its revocation. */
async function issueReplicated(tokens: TokenService, client: Redis, user: string): Promise<IssuedToken> {
  const issued = await tokens.issue({ user, expiresIn: '1h' });
  assert.equal(await client.wait(1, 5000), 1);
  return issued;
}

/** What a check of `token` on the server at `port` finds (a store of its own, so nothing waits). */
async function checkOn(server: RedisServer, token: string) {
  const client = clientOf(server);
  try {
    return await serviceOn(client, { durableRevocation: false }).authenticate(token);
  } finally {
    client.disconnect();
  }
}

/** What a failover does to the data: the master dies, its replica becomes the master with what it has. */
async function killAndPromote(pair: Pair): Promise<void> {
  await pair.master.kill();
  await askRedis(pair.replica.port, (redis) => redis.replicaof('NO', 'ONE'));
}

/** The killed master back, empty, as the replica of the promoted one: the pair is whole again. */
async function rejoin(pair: Pair): Promise<Pair> {
  await pair.master.restart();
  await replicateFrom(pair.master, pair.replica.port);
  return { master: pair.replica, replica: pair.master };
}

/**
 * The conformance suite on a master with one replica, `durableRevocation` on (its default). The
 * replica follows through a link that delays replication by 40 ms, so that a revocation that did
 * not wait would be lost to the failover; the pair serves one case after another until a case fails
 * it over, and the next case gets a new pair.
 */
const REPLICATION_LAG = 40;

interface LaggingPair extends Pair {
  link: HeldLink;
}

/** Links still open: a run of only some cases leaves its last pair to the end of the file. */
const openLinks = new Set<HeldLink>();
after(() => Promise.all([...openLinks].map((link) => link.close())));

async function startLaggingPair(lag: number): Promise<LaggingPair> {
  const [master, replica] = await Promise.all([
    startRedis({ extraArgs: PAIR_ARGS }),
    startRedis({ extraArgs: PAIR_ARGS }),
  ]);
  const link = await startHeldLink(master.port, { delay: lag });
  openLinks.add(link);
  await replicateFrom(replica, link.port);
  return { master, replica, link };
}

function conformanceOnPair(
  storeOptions: RedisTokenStoreOptions,
  lag = REPLICATION_LAG,
): () => Promise<StoreHarness> {
  let current: Promise<LaggingPair> | undefined;
  return async () => {
    current ??= startLaggingPair(lag);
    const pairing = current;
    const pair = await pairing;
    // Reconnecting, unlike `clientOf`'s: the channel's subscriptions (its duplicates) come back once cut.
    const connect = () => {
      const connection = pair.master.client({ maxRetriesPerRequest: 0 });
      connection.on('error', () => {});
      return connection;
    };
    const client = connect();
    const prefix = uniquePrefix('durable-conformance');
    let promoted: Redis | undefined;
    const others: Redis[] = [];
    return {
      store: new RedisTokenStore(client, { prefix, ...storeOptions }),
      advance: waitReal,
      remoteChannel: async () => {
        const other = connect();
        others.push(other);
        return remoteInvalidations(other, `${prefix}invalidated`);
      },
      // The pair is this harness's own: every pub/sub connection on its master is the channel's.
      dropSubscriptions: async () => {
        await askRedis(pair.master.port, (redis) => redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
      },
      // The master is lost with what it had not yet sent the replica, which takes over.
      failover: async () => {
        current = undefined;
        pair.link.cut();
        await killAndPromote(pair);
        promoted = clientOf(pair.replica);
        return new RedisTokenStore(promoted, { prefix });
      },
      cleanup: async () => {
        client.disconnect();
        promoted?.disconnect();
        for (const other of others) other.disconnect();
        if (current !== pairing) {
          openLinks.delete(pair.link);
          await pair.link.close();
          await Promise.all([pair.master.stop(), pair.replica.stop()]);
        }
      },
    };
  };
}

testTokenStore('RedisTokenStore (durableRevocation, master + replica, failed over)', conformanceOnPair({}));

test('without durableRevocation, the conformance suite catches the revocation a failover loses', async () => {
  const name =
    'failover: a delete or limit that resolved still holds once the primary is lost (revocationWait)';
  // A lag no loaded machine's pause between the revocation and the failover outlasts.
  const harness = conformanceOnPair({ durableRevocation: false }, 2000);
  const report = await checkTokenStore(harness, { cases: [name] });
  assert.deepEqual(
    report.failed.map((failure) => failure.name),
    [name],
  );
  assert.match(String(report.failed[0]!.error), /a revocation that resolved was lost in the failover/);
});

// Each group starts servers of its own: they run side by side.
describe('durableRevocation', { concurrency: true }, () => {
  describe('durableRevocation on a master with one replica', () => {
    test('a paused replica: revoke rejects with ERR_REVOCATION_NOT_DURABLE, checks meanwhile do not wait; the router answers 503, the CLI exits 1', async () => {
      const pair = await startPair();
      const client = clientOf(pair.master);
      const tokens = serviceOn(client, { durableRevocation: { timeout: 500 } });
      const app = express();
      app.use(testSession, tokenRouter({ tokens }));
      try {
        const revoked = await issueReplicated(tokens, client, 'paula');
        const other = await issueReplicated(tokens, client, 'paula');
        const third = await issueReplicated(tokens, client, 'paula');
        pair.replica.pause();
        let settled = false;
        const revoking = tokens.revoke(revoked.id).finally(() => {
          settled = true;
        });
        await waitFor('the revocation to wait for the replica', async () => {
          const info = await askRedis(pair.master.port, (redis) => redis.info('clients'));
          return Number(infoField(info, 'blocked_clients')) >= 1 ? true : undefined;
        });
        // A check on the same client while the revocation waits for the replica: answered at once.
        assert.equal((await tokens.authenticate(other.token)).ok, true);
        assert.equal(settled, false);
        // Within the service's deadline (else ERR_STORE_UNAVAILABLE), and saying what happened.
        await assert.rejects(revoking, (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_REVOCATION_NOT_DURABLE');
          assert.match(
            error.message,
            /revoked on the Redis master.*0 of 1 replicas.*may come back after a failover/,
          );
          return true;
        });
        // The master has it: refused there.
        assert.equal((await tokens.authenticate(revoked.token)).ok, false);

        const res = await request(app).delete(`/tokens/${other.id}`).set('X-Test-Login', 'paula');
        assert.equal(res.status, 503);
        assert.equal(res.headers['retry-after'], '1');
        assert.equal(res.body.error.code, 'ERR_REVOCATION_NOT_DURABLE');
        assert.match(res.body.error.message, /may come back after a failover/);

        const cli = await runCliInProcess(['--redis', pair.master.url, 'revoke', third.id]);
        assert.equal(cli.code, 1);
        assert.match(
          cli.stderr,
          /^personal-token: .*revoked on the Redis master.*may come back after a failover/,
        );

        // Once the replica answers again, revoking again confirms it.
        pair.replica.resume();
        assert.equal(await tokens.revoke(other.id), false);
        assert.equal(await client.wait(1, 5000), 1);
      } finally {
        pair.replica.resume();
        client.disconnect();
      }
    });

    test(`${TRIALS} trials: revoke resolves, the master is killed at once, its replica promoted: the token is refused every time`, {
      timeout: 120_000,
    }, async (t) => {
      const pairs = await Promise.all(Array.from({ length: PAIRS }, startPair));
      let refused = 0;
      await Promise.all(
        pairs.map(async (first, lane) => {
          let pair = first;
          for (let trial = lane; trial < TRIALS; trial += PAIRS) {
            const client = clientOf(pair.master);
            const tokens = serviceOn(client);
            const issued = await issueReplicated(tokens, client, `trial${trial}`);
            assert.equal(await tokens.revoke(issued.id), true);
            await killAndPromote(pair);
            client.disconnect();
            const found = await checkOn(pair.replica, issued.token);
            assert.deepEqual([found.ok, !found.ok && found.reason], [false, 'revoked'], `trial ${trial}`);
            refused++;
            pair = await rejoin(pair);
          }
        }),
      );
      assert.equal(refused, TRIALS);
      t.diagnostic(`${refused} of ${TRIALS} revoked tokens refused after the failover`);
    });

    test('durableRevocation: false: a revocation the replica never received is lost in the failover; with it, not confirmed, even when retried', async () => {
      const master = await startRedis({ extraArgs: PAIR_ARGS });
      const replica = await startRedis({ extraArgs: PAIR_ARGS });
      const link = await startHeldLink(master.port);
      const client = clientOf(master);
      const otherClient = clientOf(master);
      try {
        await replicateFrom(replica, link.port);
        const undurable = serviceOn(client, { durableRevocation: false });
        const durable = serviceOn(client);
        const lost = await issueReplicated(undurable, client, 'lena');
        const kept = await issueReplicated(undurable, client, 'lena');
        const elsewhere = serviceOn(otherClient);
        assert.equal(
          await elsewhere.revoke((await issueReplicated(elsewhere, otherClient, 'lena')).id),
          true,
        );
        // The replication stream stops reaching the replica, which the master cannot tell yet.
        link.hold();
        assert.equal(await undurable.revoke(lost.id), true);
        await assert.rejects(durable.revoke(kept.id), { code: 'ERR_REVOCATION_NOT_DURABLE' });
        // Revoking again from another app instance, whose connection last wrote before the first
        // attempt, is not confirmed either: what it waits for includes the first attempt's tombstone.
        await assert.rejects(elsewhere.revoke(kept.id), { code: 'ERR_REVOCATION_NOT_DURABLE' });
        await killAndPromote({ master, replica });
        link.cut();
        // Resolved, yet working again on the new master; the durable one said it might.
        assert.equal((await checkOn(replica, lost.token)).ok, true);
        assert.equal((await checkOn(replica, kept.token)).ok, true);
      } finally {
        client.disconnect();
        otherClient.disconnect();
        await link.close();
      }
    });
  });

  test('through a real Sentinel failover: a revocation that resolved stays revoked', {
    timeout: 60_000,
  }, async () => {
    const sentinel = await startSentinel();
    try {
      const client = sentinel.client({ maxRetriesPerRequest: 0 });
      client.on('error', () => {});
      const tokens = serviceOn(client);
      const issued = await issueReplicated(tokens, client, 'sam');
      assert.equal(await tokens.revoke(issued.id), true);
      // No waiting for replication before the kill (as sentinel.failover() does): the revoke's own wait is the test.
      await sentinel.master.kill();
      await waitFor(
        'the sentinels to promote the replica',
        async () => ((await sentinel.masterPort()) === sentinel.replica.port ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const found = await checkOn(sentinel.replica, issued.token);
      assert.deepEqual([found.ok, !found.ok && found.reason], [false, 'revoked']);
    } finally {
      await sentinel.stop();
    }
  });

  test('on a Cluster, a revocation waits on the replicas of the shard that holds the token', {
    timeout: 60_000,
  }, async () => {
    const cluster = await startCluster();
    const client = cluster.cluster({ redisOptions: { maxRetriesPerRequest: 0 } });
    client.on('error', () => {});
    try {
      const tokens = new TokenService({
        store: new RedisTokenStore(client, { durableRevocation: { timeout: 500 } }),
        timeout: GUARD_TIMEOUT,
      });
      const shardOf = async (token: IssuedToken) => (await cluster.masterForKey(`pat:t:{${token.id}}`)).port;
      // Two tokens on one shard, one on another (ids are random: issue until there are).
      const first = await tokens.issue({ user: 'cleo', expiresIn: '1h' });
      const shard = await shardOf(first);
      let second: IssuedToken | undefined;
      let elsewhere: IssuedToken | undefined;
      while (second === undefined || elsewhere === undefined) {
        const issued = await tokens.issue({ user: 'cleo', expiresIn: '1h' });
        if ((await shardOf(issued)) === shard) second ??= issued;
        else elsewhere ??= issued;
      }
      await cluster.waitForReplication();
      const masterId = (await cluster.topology()).find((node) => node.port === shard)!.id;
      const replicas = (await askRedis(shard, (redis) => redis.cluster('REPLICAS', masterId))) as string[];
      const replicaPort = Number(replicas[0]!.split(' ')[1]!.split('@')[0]!.split(':')[1]);
      const replica = cluster.nodes.find((node) => node.port === replicaPort)!;

      replica.pause();
      try {
        await assert.rejects(tokens.revoke(first.id), { code: 'ERR_REVOCATION_NOT_DURABLE' });
        // Another shard's replica answers: its token's revocation is confirmed meanwhile.
        assert.equal(await tokens.revoke(elsewhere.id), true);
      } finally {
        replica.resume();
      }
      assert.equal(await tokens.revoke(second.id), true);
    } finally {
      client.disconnect();
      await cluster.stop();
    }
  });
});
