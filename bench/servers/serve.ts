// What every benchmarked server shares: listening on a free loopback port, and reporting its own
// figures to the harness over the IPC channel rather than an HTTP endpoint, so that asking for them
// is neither a request that goes through (or around) the auth under test nor one that gets counted.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { Redis } from 'ioredis';

export interface ServerStats {
  /** process.cpuUsage(), µs. */
  cpuUserUs: number;
  cpuSystemUs: number;
  /** HTTP requests received since start. */
  requests: number;
  /** Commands this process sent to Redis since start (EVALSHA counts as one, whatever the script does). */
  redisCommands: number;
  /** Peak resident set size since start, kB (getrusage). */
  maxRssKb: number;
}

export type ParentMessage = { type: 'stats'; seq: number } | { type: 'shutdown' };
export type ServerMessage =
  | { type: 'ready'; port: number }
  | { type: 'stats'; seq: number; stats: ServerStats };

let redisCommands = 0;

/** An ioredis client for the bench Redis that counts the commands it sends (from REDIS_URL). */
export function benchRedis(): Redis {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set (servers are started by bench/run.ts)');
  const client = new Redis(url);
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    redisCommands++;
    return send(...args);
  }) as Redis['sendCommand'];
  return client;
}

function stats(requests: number): ServerStats {
  const cpu = process.cpuUsage();
  return {
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    requests,
    redisCommands,
    maxRssKb: process.resourceUsage().maxRSS,
  };
}

/**
 * Serves `app` on 127.0.0.1 (a free port), once `redis` (if any) answers, and tells the harness
 * which port. Runs until the harness sends `shutdown` (a clean exit, so `--cpu-prof` gets written).
 */
export function serve(app: Express, redis?: Redis): void {
  start(app, redis).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

async function start(app: Express, redis?: Redis): Promise<void> {
  if (redis) await redis.ping();
  let requests = 0;
  const server = createServer(app);
  server.on('request', () => {
    requests++;
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const send = (message: ServerMessage) => process.send?.(message);
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stats') send({ type: 'stats', seq: message.seq, stats: stats(requests) });
    if (message.type === 'shutdown') {
      server.closeAllConnections();
      server.close();
      redis?.disconnect();
      process.exit(0);
    }
  });
  // The harness is gone (crashed, killed): so is the reason to run.
  process.on('disconnect', () => process.exit(0));
  // Started by hand (no IPC channel): say where we are.
  if (process.send) send({ type: 'ready', port });
  else console.log(`listening on http://127.0.0.1:${port}`);
}
