import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Cluster, Redis } from 'ioredis';
import { TEST_REDIS_URL } from './redis';

/** One command as MONITOR prints it: where it came from (`lua` inside a script) and its arguments. */
export interface MonitoredCommand {
  source: string;
  args: string[];
  line: string;
}

export interface RedisMonitor {
  /** Every command the server received since `start`, in order. */
  readonly commands: MonitoredCommand[];
  /**
   * Waits until MONITOR has shown everything `client` sent before: sends a unique ECHO through it
   * and waits for that line (MONITOR output is in the order the server ran the commands).
   */
  settle(client: Redis | Cluster): Promise<void>;
  stop(): void;
}

const LINE = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/;
const ARG = /"((?:[^"\\]|\\.)*)"/g;

/** MONITOR on the shared test Redis ($TEST_REDIS_URL). */
export function monitorTestRedis(): Promise<RedisMonitor> {
  const url = new URL(TEST_REDIS_URL);
  return monitorRedis(Number(url.port || 6379), url.hostname);
}

/**
 * MONITOR on a plain socket. ioredis' `monitor()` can throw "Command queue state error" when the
 * first monitored line arrives in the same packet as MONITOR's OK (redis/ioredis#1981,
 * taskforcesh/bullmq#2505: a client's ready-check INFO, typically); a socket that reads lines has
 * no queue to get wrong.
 */
export function monitorRedis(port: number, host = '127.0.0.1'): Promise<RedisMonitor> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    const commands: MonitoredCommand[] = [];
    const waiting = new Map<string, () => void>();
    let buffer = '';
    let started = false;
    socket.setEncoding('utf8');
    socket.once('error', reject);
    socket.on('connect', () => socket.write('MONITOR\r\n'));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end = buffer.indexOf('\r\n');
      while (end >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\r\n');
        if (!started) {
          if (line !== '+OK') return reject(new Error(`MONITOR answered ${line}`));
          started = true;
          resolve(monitor);
          continue;
        }
        const match = LINE.exec(line);
        if (!match) continue;
        const args = [...match[2]!.matchAll(ARG)].map((arg) => arg[1]!.replace(/\\(.)/g, '$1'));
        commands.push({ source: match[1]!, args, line });
        if (args[0]?.toLowerCase() === 'echo') waiting.get(args[1] ?? '')?.();
      }
    });
    const monitor: RedisMonitor = {
      commands,
      async settle(client) {
        const marker = `monitor-settle-${randomBytes(6).toString('hex')}`;
        const seen = new Promise<void>((done) => waiting.set(marker, done));
        await client.echo(marker);
        await seen;
        waiting.delete(marker);
      },
      stop() {
        socket.destroy();
      },
    };
  });
}
