// One measured load run against one server: the load generator's view (req/s, latency, statuses),
// the server's own (CPU, requests, commands sent, peak RSS) and Redis' (commands executed, CPU),
// each as the difference between just before and just after the load.
import type { Redis } from 'ioredis';
import type { LoadGenerator, LoadKind, LoadResult, TokenPool } from './load';
import { redisDelta, redisSnapshot } from './redis-stats';
import type { ServerProcess } from './server-process';

export interface Measurement {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests the server received (its own count; the per-request figures divide by this). */
  requests: number;
  /** Server CPU (user + system) per request, µs. */
  cpuUsPerRequest: number;
  /** Commands the server sent to Redis per request (an EVALSHA is one, whatever its script does). */
  redisCommandsPerRequest: number;
  /** Commands Redis executed per request (INFO commandstats), including those inside Lua scripts. */
  redisCallsPerRequest: number;
  redisCallsByCommand: Record<string, number>;
  redisCpuUsPerRequest: number;
  /** The server's peak RSS so far, MB. */
  peakRssMb: number;
  statusCounts: Record<string, number>;
  errors: number;
  timeouts: number;
  distinctHeaders: number;
  /** The load generator's CPU per response, µs (not the server's: context for req/s on a small machine). */
  loadGeneratorCpuUsPerRequest: number;
}

// Requests still in flight when autocannon stops finish within a few ms; wait for them before the
// "after" snapshot so that they count on both sides.
const SETTLE_MS = 100;

export async function measure(
  server: ServerProcess,
  redis: Redis | null,
  load: LoadGenerator,
  kind: LoadKind,
  options: { connections: number; durationSec: number; pool: TokenPool },
): Promise<Measurement> {
  const serverBefore = await server.stats();
  const redisBefore = redis ? await redisSnapshot(redis) : null;
  const result: LoadResult = await load.run({
    url: server.url,
    kind,
    pool: options.pool,
    connections: options.connections,
    durationSec: options.durationSec,
  });
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const serverAfter = await server.stats();
  const redisAfter = redis && redisBefore ? redisDelta(redisBefore, await redisSnapshot(redis)) : null;

  const requests = serverAfter.requests - serverBefore.requests;
  const per = (value: number) => (requests > 0 ? value / requests : Number.NaN);
  const cpuUs =
    serverAfter.cpuUserUs - serverBefore.cpuUserUs + (serverAfter.cpuSystemUs - serverBefore.cpuSystemUs);
  const callsByCommand: Record<string, number> = {};
  for (const [name, calls] of Object.entries(redisAfter?.calls ?? {})) callsByCommand[name] = per(calls);
  return {
    reqPerSec: result.reqPerSec,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    requests,
    cpuUsPerRequest: per(cpuUs),
    redisCommandsPerRequest: per(serverAfter.redisCommands - serverBefore.redisCommands),
    redisCallsPerRequest: per(redisAfter?.totalCalls ?? 0),
    redisCallsByCommand: callsByCommand,
    redisCpuUsPerRequest: per(redisAfter?.cpuUs ?? 0),
    peakRssMb: serverAfter.maxRssKb / 1024,
    statusCounts: result.statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    distinctHeaders: result.distinctHeaders,
    loadGeneratorCpuUsPerRequest: result.cpuUsPerRequest,
  };
}
