// A throwaway Redis Sentinel set (one master, one replica, three sentinels) for tests of failover
// through Sentinel. Every process is a redis-server.ts server, owned and stopped like any other.
import { Redis, type RedisOptions } from 'ioredis';
import { askRedis, infoField, OwnedClients, REDIS_HOST } from './redis-connections';
import { waitForLink, waitForReplicas } from './redis-replication';
import { type RedisServer, startRedis } from './redis-server';
import { waitFor } from './wait-for';

export interface SentinelHandle {
  /** The monitored master name. */
  name: string;
  sentinels: Array<{ host: string; port: number }>;
  sentinelServers: RedisServer[];
  /** The master at start (after failover() it is dead, or a replica once restarted). */
  master: RedisServer;
  /** The replica at start (after failover() it is the master). */
  replica: RedisServer;
  /** A new ioredis client that finds the master through the sentinels; disconnected by stop(). */
  client(options?: RedisOptions): Redis;
  /** The address every sentinel currently reports for the master. */
  masterPort(): Promise<number>;
  /** Waits until the replica has processed every write the master has done so far. */
  waitForReplication(): Promise<void>;
  /**
   * Waits for replication, SIGKILLs the current master, then waits until every sentinel reports
   * the other server as master and it accepts writes. Returns the new master.
   */
  failover(): Promise<RedisServer>;
  stop(): Promise<void>;
}

export async function startSentinel(
  options: { name?: string; downAfterMs?: number; failoverTimeoutMs?: number } = {},
): Promise<SentinelHandle> {
  const name = options.name ?? 'patmaster';
  const started: RedisServer[] = [];
  const clients = new OwnedClients();

  const stop = async () => {
    clients.disconnectAll();
    await Promise.all(started.map((server) => server.stop()));
  };

  try {
    const master = await startRedis();
    started.push(master);
    const replica = await startRedis({ extraArgs: ['--replicaof', REDIS_HOST, String(master.port)] });
    started.push(replica);
    await waitForLink(replica.port);

    const config = [
      `sentinel monitor ${name} ${REDIS_HOST} ${master.port} 2`,
      `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5000}`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n');
    const sentinelServers = await Promise.all(
      [0, 1, 2].map(() => startRedis({ config, extraArgs: ['--sentinel'] })),
    );
    started.push(...sentinelServers);
    const sentinels = sentinelServers.map((sentinel) => ({ host: REDIS_HOST, port: sentinel.port }));

    // Sentinels find the replica through the master's INFO and each other through hello messages
    // (every 2 s); a failover before that would not reach the quorum.
    await waitFor(
      'every sentinel to know the replica and the two other sentinels',
      async () => {
        for (const sentinel of sentinelServers) {
          const info = await askRedis(sentinel.port, (redis) => redis.info('sentinel'));
          const line = infoField(info, 'master0') ?? '';
          if (!/status=ok/.test(line) || !/slaves=1/.test(line) || !/sentinels=3/.test(line))
            return undefined;
        }
        return true;
      },
      { timeoutMs: 20000, intervalMs: 100 },
    );

    const masterPortVia = async (sentinel: RedisServer): Promise<number> => {
      const reply = await askRedis(sentinel.port, (redis) =>
        redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name),
      );
      if (!Array.isArray(reply)) throw new Error(`sentinel :${sentinel.port} knows no master ${name}`);
      return Number(reply[1]);
    };

    const masterPort = async () => {
      const ports = await Promise.all(sentinelServers.map(masterPortVia));
      const [first] = ports;
      if (first === undefined || ports.some((port) => port !== first)) {
        throw new Error(`sentinels disagree on the master: ${ports.join(', ')}`);
      }
      return first;
    };

    const currentMaster = async () => ((await masterPort()) === master.port ? master : replica);

    const waitForReplication = async () => {
      const primary = await currentMaster();
      const secondary = primary === master ? replica : master;
      if (secondary.running) await waitForReplicas(primary.port, [secondary.port]);
    };

    return {
      name,
      sentinels,
      sentinelServers,
      master,
      replica,
      client: (clientOptions: RedisOptions = {}) =>
        clients.add(new Redis({ sentinels, name, ...clientOptions })),
      masterPort,
      waitForReplication,
      async failover() {
        await waitForReplication();
        const oldMaster = await currentMaster();
        const promoted = oldMaster === master ? replica : master;
        await oldMaster.kill();
        await waitFor(
          `sentinels to promote :${promoted.port}`,
          async () => ((await masterPort()) === promoted.port ? true : undefined),
          { timeoutMs: 30000, intervalMs: 100 },
        );
        await waitFor(`:${promoted.port} to accept writes as master`, async () => {
          const info = await askRedis(promoted.port, (redis) => redis.info('replication'));
          return infoField(info, 'role') === 'master' ? true : undefined;
        });
        return promoted;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
