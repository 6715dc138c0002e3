// Throwaway redis-server processes for tests that kill, pause or restart Redis, or need a Cluster or
// Sentinel: they never touch the shared server on 6379. Every process is tracked and SIGKILLed when
// the test process exits, so a failing test leaves no stray redis-server behind.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { forgetDir, removeOnExit, track, waitForExit } from './owned-processes';

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
const REDIS_CLI = process.env.REDIS_CLI_BIN ?? '/usr/bin/redis-cli';
const HOST = '127.0.0.1';
/** Cluster nodes also listen on port + 10000 (the cluster bus), which must stay a valid port. */
const CLUSTER_BUS_OFFSET = 10000;

const execFileAsync = promisify(execFile);

const portsHandedOut = new Set<number>();

function bindEphemeralPort(port = 0): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen({ host: HOST, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A loopback TCP port that was free a moment ago (bind to port 0, read it, release it).
 * With `clusterBus`, port + 10000 is free as well, as a cluster node needs both.
 * A port is never handed out twice by one test process.
 */
export async function freePort(options: { clusterBus?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await bindEphemeralPort();
    if (port === null || portsHandedOut.has(port)) continue;
    if (options.clusterBus) {
      if (port + CLUSTER_BUS_OFFSET > 65535) continue;
      if ((await bindEphemeralPort(port + CLUSTER_BUS_OFFSET)) === null) continue;
    }
    portsHandedOut.add(port);
    return port;
  }
  throw new Error('no free loopback port found');
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 15000, intervalMs = 25 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await delay(intervalMs);
  }
  const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
}

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

export type RespValue = string | number | null | RespValue[];

/** Parses one RESP2 reply starting at `pos`; undefined while it is incomplete. Errors become Error values. */
function parseReply(text: string, pos = 0): { value: RespValue | Error; end: number } | undefined {
  const lineEnd = text.indexOf('\r\n', pos);
  if (lineEnd === -1) return undefined;
  const type = text[pos];
  const line = text.slice(pos + 1, lineEnd);
  const next = lineEnd + 2;
  if (type === '+') return { value: line, end: next };
  if (type === '-') return { value: new Error(line), end: next };
  if (type === ':') return { value: Number(line), end: next };
  if (type === '$') {
    const length = Number(line);
    if (length < 0) return { value: null, end: next };
    if (text.length < next + length + 2) return undefined;
    return { value: text.slice(next, next + length), end: next + length + 2 };
  }
  if (type === '*') {
    const count = Number(line);
    if (count < 0) return { value: null, end: next };
    const items: RespValue[] = [];
    let cursor = next;
    for (let i = 0; i < count; i++) {
      const item = parseReply(text, cursor);
      if (!item) return undefined;
      if (item.value instanceof Error) return { value: item.value, end: item.end };
      items.push(item.value);
      cursor = item.end;
    }
    return { value: items, end: cursor };
  }
  return { value: new Error(`unexpected RESP reply: ${text.slice(pos, pos + 40)}`), end: text.length };
}

/**
 * Sends one command (RESP2) over a fresh raw connection and returns the parsed reply; a Redis error
 * reply rejects. Used for readiness and topology probes so they never depend on ioredis state.
 */
export function rawCommand(port: number, args: string[], timeoutMs = 1000): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port });
    let received = '';
    const finish = (result: RespValue | Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => finish(new Error(`no reply from :${port} to ${args[0]}`)), timeoutMs);
    socket.setEncoding('latin1'); // one char per byte, so bulk lengths can be counted in chars
    socket.once('error', finish);
    socket.once('connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const reply = parseReply(received);
      if (reply) finish(reply.value);
    });
  });
}

/** rawCommand for commands whose reply is text (INFO, CLUSTER NODES, PING...). */
export async function rawText(port: number, args: string[], timeoutMs?: number): Promise<string> {
  const reply = await rawCommand(port, args, timeoutMs);
  if (typeof reply !== 'string') throw new Error(`expected a text reply to ${args[0]}, got ${typeof reply}`);
  return reply;
}

export function infoField(info: string, field: string): string | undefined {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

// ---------------------------------------------------------------------------------------------
// One redis-server process

export interface StartRedisOptions {
  /** Fixed port; default a free one (and a retry on another port if it was taken meanwhile). */
  port?: number;
  /** Append-only file: true = appendfsync always (deterministic after SIGKILL), or the fsync policy. */
  aof?: boolean | 'always' | 'everysec';
  /** Data directory; default a fresh temp dir removed by stop(). A dir you pass is left in place. */
  dir?: string;
  /** More redis-server arguments, e.g. ['--cluster-enabled', 'yes']. */
  extraArgs?: string[];
  /** Run as a sentinel with this config file content (written to <dir>/sentinel.conf). */
  sentinelConfig?: string;
  /** Cluster nodes need port + 10000 free too. */
  clusterBus?: boolean;
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** pid of the current process (changes on restart()). */
  readonly pid: number;
  readonly url: string;
  readonly dir: string;
  /** True between pause() and resume(). */
  readonly paused: boolean;
  readonly running: boolean;
  /** A new ioredis client for this server; it is disconnected by stop(). */
  client(options?: RedisOptions): Redis;
  /** SIGTERM (a paused server is resumed so it can act on it), wait for exit, remove the temp dir. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: no AOF rewrite, no goodbye to clients. The dir is kept for restart(). */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void;
  /** SIGCONT */
  resume(): void;
  /** Stops the process if it runs (SIGTERM), then starts it again on the same port and dir. */
  restart(): Promise<void>;
  /** Last lines of the server log, for failure messages. */
  logTail(lines?: number): string;
}

const servers = new Set<RedisServer>();

function buildArgs(port: number, dir: string, options: StartRedisOptions): string[] {
  const logfile = join(dir, 'redis.log');
  if (options.sentinelConfig !== undefined) {
    const configFile = join(dir, 'sentinel.conf');
    // A restart reuses the config the sentinel rewrote (it records what it learned there).
    try {
      readFileSync(configFile);
    } catch {
      writeFileSync(configFile, options.sentinelConfig);
    }
    return [configFile, '--sentinel', '--port', String(port), '--bind', HOST, '--logfile', logfile];
  }
  const aof = options.aof ?? false;
  const fsync = aof === 'everysec' ? 'everysec' : 'always';
  return [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--dir',
    dir,
    '--logfile',
    logfile,
    '--daemonize',
    'no',
    '--save',
    '',
    '--appendonly',
    aof ? 'yes' : 'no',
    '--appendfsync',
    fsync,
    ...(options.extraArgs ?? []),
  ];
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pat-redis-'));
  if (ownsDir) removeOnExit(dir);

  let port = options.port ?? (await freePort({ clusterBus: options.clusterBus }));
  let child: ChildProcess | undefined;
  let paused = false;
  const clients = new Set<Redis>();

  const logTail = (lines = 20): string => {
    try {
      return readFileSync(join(dir, 'redis.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };

  const launch = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const proc = track(spawn(REDIS_SERVER, buildArgs(port, dir, options), { cwd: dir, stdio: 'ignore' }));
      child = proc;
      paused = false;
      try {
        await waitFor(
          `redis-server on :${port} to answer PING`,
          async () => {
            if (proc.exitCode !== null || proc.signalCode !== null) {
              throw new Error(`redis-server on :${port} exited (${proc.exitCode ?? proc.signalCode})`);
            }
            return (await rawCommand(port, ['PING'], 500)) === 'PONG' ? true : undefined;
          },
          { timeoutMs: 10000, intervalMs: 10 },
        );
        return;
      } catch (error) {
        proc.kill('SIGKILL');
        await waitForExit(proc, 2000);
        // Another process may have taken the free port between freePort() and our bind.
        const portTaken = /Address already in use/.test(logTail(5));
        if (portTaken && options.port === undefined && attempt < 5) {
          port = await freePort({ clusterBus: options.clusterBus });
          continue;
        }
        throw new Error(`${(error as Error).message}\n--- redis log ---\n${logTail()}`);
      }
    }
  };

  const terminate = async (signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    if (paused) proc.kill('SIGCONT'); // a stopped process acts on SIGTERM only once continued
    paused = false;
    if (!(await waitForExit(proc, 10000))) {
      proc.kill('SIGKILL');
      await waitForExit(proc, 5000);
    }
  };

  await launch();

  const server: RedisServer = {
    host: HOST,
    get port() {
      return port;
    },
    get pid() {
      return child?.pid ?? -1;
    },
    get url() {
      return `redis://${HOST}:${port}`;
    },
    dir,
    get paused() {
      return paused;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    client(clientOptions: RedisOptions = {}) {
      const client = new Redis({ host: HOST, port, ...clientOptions });
      // An owned client must not crash the test process with an unhandled 'error' event while the
      // server is down on purpose; tests that care attach their own listener.
      client.on('error', () => {});
      clients.add(client);
      client.once('end', () => clients.delete(client));
      return client;
    },
    async stop() {
      for (const client of clients) client.disconnect();
      clients.clear();
      await terminate('SIGTERM');
      servers.delete(server);
      if (ownsDir) {
        rmSync(dir, { recursive: true, force: true });
        forgetDir(dir);
      }
    },
    kill: () => terminate('SIGKILL'),
    pause() {
      if (!server.running) throw new Error(`redis-server on :${port} is not running`);
      child?.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      child?.kill('SIGCONT');
      paused = false;
    },
    async restart() {
      await terminate('SIGTERM');
      await launch();
    },
    logTail,
  };
  servers.add(server);
  return server;
}

/** Makes `replica` a replica of the server on `masterPort` and waits until it has the data set. */
export async function replicateFrom(replica: RedisServer, masterPort: number): Promise<void> {
  await rawCommand(replica.port, ['REPLICAOF', HOST, String(masterPort)]);
  await waitFor(`:${replica.port} to sync with :${masterPort}`, async () => {
    const info = await rawText(replica.port, ['INFO', 'replication']);
    return infoField(info, 'master_link_status') === 'up' ? true : undefined;
  });
}

/** Stops every server this process started (for an after() hook in tests that start many). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...servers].map((server) => server.stop()));
}

// ---------------------------------------------------------------------------------------------
// Redis Cluster: masters + replicas, created with redis-cli --cluster create

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

function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      // <id> <ip:port@bus> <flags> <master> <ping-sent> <pong-recv> <epoch> <link-state> <slot>...
      const fields = line.trim().split(' ');
      const [id = '', address = '', flags = ''] = fields;
      const slotFields = fields.slice(8);
      const port = Number(address.split('@')[0]?.split(':')[1]);
      const flagList = flags.split(',');
      const slots = slotFields
        .filter((field) => !field.startsWith('['))
        .map((field): [number, number] => {
          const [first, last] = field.split('-').map(Number);
          return [first ?? 0, last ?? first ?? 0];
        });
      return {
        id,
        port,
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
  const nodeTimeout = options.nodeTimeoutMs ?? 1000;
  const clusterArgs = [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(nodeTimeout),
    // A replica must not refuse to fail over because its last contact is "too old".
    '--cluster-replica-validity-factor',
    '0',
    ...(options.extraArgs ?? []),
  ];
  const nodeCount = masters * (1 + replicasPerMaster);
  const nodes = await Promise.all(
    Array.from({ length: nodeCount }, () => startRedis({ extraArgs: clusterArgs, clusterBus: true })),
  );
  const clients = new Set<Cluster>();

  const stop = async () => {
    for (const client of clients) client.disconnect();
    clients.clear();
    await Promise.all(nodes.map((node) => node.stop()));
  };

  const liveNodes = () => nodes.filter((node) => node.running && !node.paused);
  const topologyFrom = async (node: RedisServer) =>
    parseClusterNodes(await rawText(node.port, ['CLUSTER', 'NODES']));
  const topology = async () => {
    const node = liveNodes()[0];
    if (!node) throw new Error('no live cluster node');
    return topologyFrom(node);
  };

  const waitUntilHealthy = async () => {
    await waitFor(
      'cluster_state:ok with all slots on live masters, on every live node',
      async () => {
        const live = liveNodes();
        const livePorts = new Set(live.map((node) => node.port));
        for (const node of live) {
          const info = await rawText(node.port, ['CLUSTER', 'INFO']);
          if (infoField(info, 'cluster_state') !== 'ok') return undefined;
          const view = await topologyFrom(node);
          const slotOwners = view.filter((entry) => entry.slots.length > 0);
          if (slotOwners.some((entry) => !livePorts.has(entry.port) || entry.failed)) return undefined;
        }
        return true;
      },
      { timeoutMs: 30000, intervalMs: 50 },
    );
  };

  try {
    await execFileAsync(
      REDIS_CLI,
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `${HOST}:${node.port}`),
        '--cluster-replicas',
        String(replicasPerMaster),
        '--cluster-yes',
      ],
      { timeout: 30000 },
    );
    await waitUntilHealthy();
    // Replicas must be attached (and synced) before anyone relies on a failover.
    await waitFor('every master to have its replicas online', async () => {
      const view = await topology();
      const replicas = view.filter((entry) => entry.role === 'replica');
      if (replicas.length !== masters * replicasPerMaster) return undefined;
      for (const replica of replicas) {
        const info = await rawText(replica.port, ['INFO', 'replication']);
        if (infoField(info, 'master_link_status') !== 'up') return undefined;
      }
      return true;
    });
  } catch (error) {
    await stop();
    throw error;
  }

  const nodeByPort = (port: number) => {
    const node = nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no cluster node on port ${port}`);
    return node;
  };

  const waitForReplication = async () => {
    const view = await topology();
    for (const master of view.filter((entry) => entry.role === 'master' && !entry.failed)) {
      if (!nodeByPort(master.port).running) continue;
      const masterInfo = await rawText(master.port, ['INFO', 'replication']);
      const target = Number(infoField(masterInfo, 'master_repl_offset'));
      const replicaPorts = [...masterInfo.matchAll(/^slave\d+:ip=[^,]+,port=(\d+)/gm)].map((m) =>
        Number(m[1]),
      );
      for (const replicaPort of replicaPorts) {
        await waitFor(`replica :${replicaPort} to reach offset ${target}`, async () => {
          const info = await rawText(replicaPort, ['INFO', 'replication']);
          return Number(infoField(info, 'slave_repl_offset')) >= target ? true : undefined;
        });
      }
    }
  };

  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: HOST, port: node.port })),
    cluster(clusterOptions: ClusterOptions = {}) {
      const client = new Cluster(
        nodes.map((node) => ({ host: HOST, port: node.port })),
        clusterOptions,
      );
      client.on('error', () => {});
      clients.add(client);
      client.once('end', () => clients.delete(client));
      return client;
    },
    async masterForKey(key: string) {
      const node = liveNodes()[0];
      if (!node) throw new Error('no live cluster node');
      const slot = Number(await rawCommand(node.port, ['CLUSTER', 'KEYSLOT', key]));
      const owner = (await topologyFrom(node)).find((entry) =>
        entry.slots.some(([first, last]) => slot >= first && slot <= last),
      );
      if (!owner) throw new Error(`no master owns slot ${slot}`);
      return nodeByPort(owner.port);
    },
    topology,
    waitForReplication,
    async killNode(node: RedisServer) {
      const wasMaster = (await topology()).find((entry) => entry.port === node.port)?.role === 'master';
      await node.kill();
      if (wasMaster) await waitUntilHealthy();
    },
    waitUntilHealthy,
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// Redis Sentinel: one master, one replica, three sentinels

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
  const downAfter = options.downAfterMs ?? 1000;
  const failoverTimeout = options.failoverTimeoutMs ?? 5000;
  const started: RedisServer[] = [];
  const clients = new Set<Redis>();

  const stop = async () => {
    for (const client of clients) client.disconnect();
    clients.clear();
    await Promise.all(started.map((server) => server.stop()));
  };

  try {
    const master = await startRedis();
    started.push(master);
    const replica = await startRedis({ extraArgs: ['--replicaof', HOST, String(master.port)] });
    started.push(replica);
    await waitFor('the replica to sync with the master', async () => {
      const info = await rawText(replica.port, ['INFO', 'replication']);
      return infoField(info, 'master_link_status') === 'up' ? true : undefined;
    });

    const sentinelConfig = [
      `sentinel monitor ${name} ${HOST} ${master.port} 2`,
      `sentinel down-after-milliseconds ${name} ${downAfter}`,
      `sentinel failover-timeout ${name} ${failoverTimeout}`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n');
    const sentinelServers = await Promise.all([0, 1, 2].map(() => startRedis({ sentinelConfig })));
    started.push(...sentinelServers);

    // Sentinels find the replica through the master's INFO and each other through hello messages
    // (every 2 s); a failover before that would not reach the quorum.
    await waitFor(
      'every sentinel to know the replica and the two other sentinels',
      async () => {
        for (const sentinel of sentinelServers) {
          const info = await rawText(sentinel.port, ['INFO', 'sentinel']);
          const line = infoField(info, 'master0') ?? '';
          if (!/status=ok/.test(line) || !/slaves=1/.test(line) || !/sentinels=3/.test(line))
            return undefined;
        }
        return true;
      },
      { timeoutMs: 20000, intervalMs: 100 },
    );

    const masterPortVia = async (sentinel: RedisServer): Promise<number> => {
      const reply = await rawCommand(sentinel.port, ['SENTINEL', 'get-master-addr-by-name', name]);
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

    const currentMaster = async () => {
      const port = await masterPort();
      return port === master.port ? master : replica;
    };

    const waitForReplication = async () => {
      const primary = await currentMaster();
      const secondary = primary === master ? replica : master;
      if (!secondary.running) return;
      const target = Number(
        infoField(await rawText(primary.port, ['INFO', 'replication']), 'master_repl_offset'),
      );
      await waitFor(`the replica to reach offset ${target}`, async () => {
        const info = await rawText(secondary.port, ['INFO', 'replication']);
        return Number(infoField(info, 'slave_repl_offset')) >= target ? true : undefined;
      });
    };

    return {
      name,
      sentinels: sentinelServers.map((sentinel) => ({ host: HOST, port: sentinel.port })),
      sentinelServers,
      master,
      replica,
      client(clientOptions: RedisOptions = {}) {
        const client = new Redis({
          sentinels: sentinelServers.map((sentinel) => ({ host: HOST, port: sentinel.port })),
          name,
          ...clientOptions,
        });
        client.on('error', () => {});
        clients.add(client);
        client.once('end', () => clients.delete(client));
        return client;
      },
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
          const info = await rawText(promoted.port, ['INFO', 'replication']);
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
