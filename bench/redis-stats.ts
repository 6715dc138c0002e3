// Redis' side of a measurement: INFO commandstats (every command Redis executed, including the
// ones a Lua script calls) and INFO cpu, read before and after a load run.
import type { Redis } from 'ioredis';

export interface RedisSnapshot {
  /** Calls per command name, e.g. { get: 1234, evalsha: 1234, hmget: 1234 }. */
  calls: Record<string, number>;
  /** used_cpu_user + used_cpu_sys, seconds. */
  cpuSeconds: number;
}

export interface RedisDelta {
  calls: Record<string, number>;
  /** All calls, the harness' own INFO excluded. */
  totalCalls: number;
  cpuUs: number;
}

// Our own INFO calls (and nothing else) run between two snapshots on the harness' connection.
const HARNESS_COMMANDS = new Set(['info']);

export async function redisSnapshot(client: Redis): Promise<RedisSnapshot> {
  const info = await client.info('commandstats');
  const cpu = await client.info('cpu');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { calls, cpuSeconds: field('used_cpu_user') + field('used_cpu_sys') };
}

export function redisDelta(before: RedisSnapshot, after: RedisSnapshot): RedisDelta {
  const calls: Record<string, number> = {};
  let totalCalls = 0;
  for (const [name, count] of Object.entries(after.calls)) {
    if (HARNESS_COMMANDS.has(name)) continue;
    const delta = count - (before.calls[name] ?? 0);
    if (delta === 0) continue;
    calls[name] = delta;
    totalCalls += delta;
  }
  return { calls, totalCalls, cpuUs: (after.cpuSeconds - before.cpuSeconds) * 1e6 };
}
