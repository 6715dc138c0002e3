// Waiting on Redis replication, for servers, clusters and sentinel sets alike: a replica whose link
// to its master is up, replicas that have every write their master has made so far.
import { askRedis, infoField, REDIS_HOST } from './redis-connections';
import type { RedisServer } from './redis-server';
import { waitFor } from './wait-for';

const replicationInfo = (port: number) => askRedis(port, (redis) => redis.info('replication'));

/** Waits until the replica on `replicaPort` has synced with its master and keeps the link up. */
export async function waitForLink(replicaPort: number): Promise<void> {
  await waitFor(`:${replicaPort} to sync with its master`, async () =>
    infoField(await replicationInfo(replicaPort), 'master_link_status') === 'up' ? true : undefined,
  );
}

/** Makes `replica` a replica of the server on `masterPort` and waits until it has the data set. */
export async function replicateFrom(replica: RedisServer, masterPort: number): Promise<void> {
  await askRedis(replica.port, (redis) => redis.replicaof(REDIS_HOST, masterPort));
  await waitForLink(replica.port);
}

/**
 * Waits until every replica the master on `masterPort` lists (or those in `replicaPorts`) has
 * processed every write the master had made when this was called.
 */
export async function waitForReplicas(masterPort: number, replicaPorts?: number[]): Promise<void> {
  const masterInfo = await replicationInfo(masterPort);
  const target = Number(infoField(masterInfo, 'master_repl_offset'));
  const ports =
    replicaPorts ??
    [...masterInfo.matchAll(/^slave\d+:ip=[^,]+,port=(\d+)/gm)].map((match) => Number(match[1]));
  for (const port of ports) {
    await waitFor(`replica :${port} to reach offset ${target}`, async () =>
      Number(infoField(await replicationInfo(port), 'slave_repl_offset')) >= target ? true : undefined,
    );
  }
}
