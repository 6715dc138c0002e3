// A throwaway Redis Cluster (masters + replicas, made with redis-cli --cluster create) for tests of
// failover and slot moves. Its nodes are redis-server.ts servers, owned and stopped like any other.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster, type ClusterOptions } from 'ioredis';
import { askRedis, infoField, OwnedClients, REDIS_HOST } from './redis-connections';
import { waitForLink, waitForReplicas } from './redis-replication';
import { type RedisServer, startRedis } from './redis-server';
import { waitFor } from './wait-for';

const REDIS_CLI = process.env.REDIS_CLI_BIN ?? '/usr/bin/redis-cli';
const execFileAsync = promisify(execFile);

export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  failed: boolean;
  /** Slot ranges as [first, last] pairs (masters only). */
  slots: Array<[number, number]>;
}

export interface RedisClusterHandle {
  nodes: RedisServer[];
  startupNodes: Array<{ host: string; port: number }>;
  /** A new ioredis Cluster over startupNodes; disconnected by stop(). */
  cluster(options?: ClusterOptions): Cluster;
  /** The node serving the key's slot right now (as seen by a live node). */
  masterForKey(key: string): Promise<RedisServer>;
  /** Topology as seen by a live node. */
  topology(): Promise<ClusterNodeInfo[]>;
  /** Waits until every replica of every master has processed all writes done so far. */
  waitForReplication(): Promise<void>;
  /**
   * SIGKILLs a node. For a master, waits until a replica has been promoted and every live node
   * reports cluster_state:ok with all slots on live masters.
   */
  killNode(node: RedisServer): Promise<void>;
  /** Waits until every live node reports cluster_state:ok and no slot belongs to a dead node. */
  waitUntilHealthy(): Promise<void>;
  stop(): Promise<void>;
}

/** CLUSTER NODES: <id> <ip:port@bus> <flags> <master> <ping-sent> <pong-recv> <epoch> <link-state> <slot>... */
function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const fields = line.trim().split(' ');
      const [id = '', address = '', flags = ''] = fields;
      const flagList = flags.split(',');
      const slots = fields
        .slice(8)
        .filter((field) => !field.startsWith('[')) // a slot being migrated, not owned
        .map((field): [number, number] => {
          const [first, last] = field.split('-').map(Number);
          return [first ?? 0, last ?? first ?? 0];
        });
      return {
        id,
        port: Number(address.split('@')[0]?.split(':')[1]),
        role: flagList.includes('master') ? 'master' : 'replica',
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        slots,
      };
    });
}

export async function startCluster(
  options: {
    masters?: number;
    replicasPerMaster?: number;
    nodeTimeoutMs?: number;
    extraArgs?: string[];
  } = {},
): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const clusterArgs = [
    ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    ...['--cluster-node-timeout', String(options.nodeTimeoutMs ?? 1000)],
    // A replica must not refuse to fail over because its last contact is "too old".
    ...['--cluster-replica-validity-factor', '0'],
    ...(options.extraArgs ?? []),
  ];
  const nodeCount = masters * (1 + replicasPerMaster);
  const nodes = await Promise.all(
    Array.from({ length: nodeCount }, () => startRedis({ extraArgs: clusterArgs, clusterBus: true })),
  );
  const startupNodes = nodes.map((node) => ({ host: REDIS_HOST, port: node.port }));
  const clients = new OwnedClients();

  const stop = async () => {
    clients.disconnectAll();
    await Promise.all(nodes.map((node) => node.stop()));
  };

  const liveNode = () => {
    const node = nodes.find((candidate) => candidate.running && !candidate.paused);
    if (!node) throw new Error('no live cluster node');
    return node;
  };
  const topologyFrom = async (port: number) =>
    parseClusterNodes(String(await askRedis(port, (redis) => redis.cluster('NODES'))));
  const topology = () => topologyFrom(liveNode().port);
  const nodeByPort = (port: number) => {
    const node = nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no cluster node on port ${port}`);
    return node;
  };

  const waitUntilHealthy = async () => {
    await waitFor(
      'cluster_state:ok with all slots on live masters, on every live node',
      async () => {
        const live = nodes.filter((node) => node.running && !node.paused);
        const livePorts = new Set(live.map((node) => node.port));
        for (const node of live) {
          // One connection for both questions: this polls every node while the app under test
          // shares the process, and a connection costs more CPU than a command.
          const [info, nodesText] = await askRedis(node.port, (redis) =>
            Promise.all([redis.cluster('INFO'), redis.cluster('NODES')]),
          );
          if (infoField(info, 'cluster_state') !== 'ok') return undefined;
          const slotOwners = parseClusterNodes(String(nodesText)).filter((entry) => entry.slots.length > 0);
          if (slotOwners.some((entry) => !livePorts.has(entry.port) || entry.failed)) return undefined;
        }
        return true;
      },
      { timeoutMs: 30000, intervalMs: 50 },
    );
  };

  try {
    const addresses = nodes.map((node) => `${REDIS_HOST}:${node.port}`);
    await execFileAsync(
      REDIS_CLI,
      ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
      { timeout: 30000 },
    );
    await waitUntilHealthy();
    // Replicas must be attached (and synced) before anyone relies on a failover.
    const replicas = await waitFor('every master to have its replicas', async () => {
      const found = (await topology()).filter((entry) => entry.role === 'replica');
      return found.length === masters * replicasPerMaster ? found : undefined;
    });
    for (const replica of replicas) await waitForLink(replica.port);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    nodes,
    startupNodes,
    cluster: (clusterOptions: ClusterOptions = {}) => clients.add(new Cluster(startupNodes, clusterOptions)),
    async masterForKey(key: string) {
      const { port } = liveNode();
      const slot = await askRedis(port, (redis) => redis.cluster('KEYSLOT', key));
      const owner = (await topologyFrom(port)).find((entry) =>
        entry.slots.some(([first, last]) => slot >= first && slot <= last),
      );
      if (!owner) throw new Error(`no master owns slot ${slot}`);
      return nodeByPort(owner.port);
    },
    topology,
    async waitForReplication() {
      const liveMasters = (await topology()).filter(
        (entry) => entry.role === 'master' && !entry.failed && nodeByPort(entry.port).running,
      );
      for (const master of liveMasters) await waitForReplicas(master.port);
    },
    async killNode(node: RedisServer) {
      const wasMaster = (await topology()).find((entry) => entry.port === node.port)?.role === 'master';
      await node.kill();
      if (wasMaster) await waitUntilHealthy();
    },
    waitUntilHealthy,
    stop,
  };
}
