// The benchmark's own redis-server: a fresh, empty, persistence-free instance on a free loopback
// port, so seeding cannot collide with anyone's data and INFO commandstats counts only our traffic.
// Started and stopped by pid; a crash of the harness kills it too (see bench/processes.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeOnExit, track, waitForExit } from './processes';

const HOST = '127.0.0.1';
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';

export interface BenchRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const dir = removeOnExit(mkdtempSync(join(tmpdir(), 'pat-bench-redis-')));
  const logfile = join(dir, 'redis.log');
  // The port is free when we look and taken by redis-server a moment later; retry if someone won the race.
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        HOST,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--logfile',
        logfile,
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    track(child);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null && !(await ping(port))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (child.exitCode === null && (await ping(port))) {
      const pid = child.pid!;
      return {
        url: `redis://${HOST}:${port}`,
        port,
        pid,
        async stop() {
          process.kill(pid, 'SIGTERM');
          if (!(await waitForExit(child, 5000))) process.kill(pid, 'SIGKILL');
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (child.exitCode === null) process.kill(child.pid!, 'SIGKILL');
    await waitForExit(child, 5000);
    let log = '';
    try {
      log = readFileSync(logfile, 'utf8');
    } catch {}
    if (!/Address already in use/.test(log) || attempt === 5) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `redis-server did not start on port ${port}:\n${log.split('\n').slice(-10).join('\n')}`,
      );
    }
  }
  throw new Error('unreachable');
}
