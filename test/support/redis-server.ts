// One throwaway redis-server for a test that kills, pauses or restarts Redis: a free loopback port,
// its own temp dir, never the shared server on 6379. Its process is owned (owned-processes.ts), so
// a failing test leaves no redis-server behind. Clusters and sentinel sets are made of these.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './free-port';
import { ownedTempDir, removeTempDir } from './owned-processes';
import { askRedis, OwnedClients, REDIS_HOST } from './redis-connections';
import { type ServerProcess, spawnServer } from './server-process';
import { waitFor } from './wait-for';

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

export interface StartRedisOptions {
  /** Fixed port; default a free one (and a retry on another port if it was taken meanwhile). */
  port?: number;
  /** Append-only file: true = appendfsync always (deterministic after SIGKILL), or the fsync policy. */
  aof?: boolean | 'always' | 'everysec';
  /** Data directory; default a fresh temp dir removed by stop(). A dir you pass is left in place. */
  dir?: string;
  /**
   * A config file's content, written to <dir>/redis.conf at the first start only: a sentinel
   * rewrites its config to record what it learned, and a restart must keep that.
   */
  config?: string;
  /** More redis-server arguments, e.g. ['--cluster-enabled', 'yes'] or ['--sentinel']. */
  extraArgs?: string[];
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

function redisArgs(port: number, dir: string, options: StartRedisOptions): string[] {
  const args: string[] = [];
  if (options.config !== undefined) {
    const configFile = join(dir, 'redis.conf');
    if (!existsSync(configFile)) writeFileSync(configFile, options.config);
    args.push(configFile);
  }
  const aof = options.aof ?? false;
  args.push(
    ...['--port', String(port), '--bind', REDIS_HOST, '--dir', dir, '--logfile', join(dir, 'redis.log')],
    ...['--daemonize', 'no', '--save', '', '--appendonly', aof ? 'yes' : 'no'],
    ...['--appendfsync', aof === 'everysec' ? 'everysec' : 'always'],
    ...(options.extraArgs ?? []),
  );
  return args;
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? ownedTempDir('redis');

  let port = options.port ?? (await freePort({ clusterBus: options.clusterBus }));
  let proc: ServerProcess | undefined;
  const clients = new OwnedClients();

  const logTail = (lines = 20): string => {
    try {
      return readFileSync(join(dir, 'redis.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };

  const launch = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const started = spawnServer(REDIS_SERVER, redisArgs(port, dir, options), dir);
      proc = started;
      try {
        await waitFor(
          `redis-server on :${port} to answer PING`,
          async () => {
            if (!started.running) throw new Error(`redis-server on :${port} exited`);
            return (await askRedis(port, (redis) => redis.ping(), 500)) === 'PONG' ? true : undefined;
          },
          { timeoutMs: 10000, intervalMs: 10 },
        );
        return;
      } catch (error) {
        await started.end('SIGKILL');
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

  await launch();

  const server: RedisServer = {
    host: REDIS_HOST,
    get port() {
      return port;
    },
    get pid() {
      return proc?.pid ?? -1;
    },
    get url() {
      return `redis://${REDIS_HOST}:${port}`;
    },
    dir,
    get paused() {
      return proc?.paused ?? false;
    },
    get running() {
      return proc?.running ?? false;
    },
    client(clientOptions: RedisOptions = {}) {
      return clients.add(new Redis({ host: REDIS_HOST, port, ...clientOptions }));
    },
    async stop() {
      clients.disconnectAll();
      await proc?.end('SIGTERM');
      servers.delete(server);
      if (ownsDir) removeTempDir(dir);
    },
    kill: async () => proc?.end('SIGKILL'),
    pause: () => proc?.pause(),
    resume: () => proc?.resume(),
    async restart() {
      await proc?.end('SIGTERM');
      await launch();
    },
    logTail,
  };
  servers.add(server);
  return server;
}

/** Stops every server this process started (for an after() hook in tests that start many). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...servers].map((server) => server.stop()));
}
