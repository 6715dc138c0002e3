// The harness' handle on the load generator: one child process (bench/load-generator.ts) that
// stays up for the whole run and runs one autocannon load at a time on request, so the load
// never competes with the harness' own work for the event loop.
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { track, waitForExit } from '../test/support/owned-processes';

/** Which Authorization header the load carries; each draws from a pool of many distinct ones. */
export type LoadKind = 'bearer' | 'basic' | 'jwt' | 'bad-bearer' | 'bad-basic';

/** Whose tokens: the main Redis', or those of the big second Redis of `--scale`. */
export type TokenPool = 'main' | 'scale';

export interface LoadFiles {
  credentials: string;
  jwts: string;
  scaleCredentials: string | null;
}

export interface LoadRequest {
  type: 'run';
  seq: number;
  url: string;
  kind: LoadKind;
  pool: TokenPool;
  connections: number;
  durationSec: number;
  /** Send exactly this many requests instead of loading for `durationSec` (the instruction counts). */
  amount?: number;
}

export interface LoadResult {
  requests: number;
  durationSec: number;
  reqPerSec: number;
  /** Latency percentiles over every response, ms (autocannon's own are whole ms only). */
  p50Ms: number;
  p99Ms: number;
  statusCounts: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Distinct headers in the pool the requests were drawn from. */
  distinctHeaders: number;
  /** The load generator's own CPU per response, µs: on a small machine it shares the cores with the rest. */
  cpuUsPerRequest: number;
}

export type LoadMessage =
  | { type: 'ready' }
  | { type: 'result'; seq: number; result: LoadResult }
  | { type: 'error'; seq: number; message: string };

export interface LoadGenerator {
  run(request: Omit<LoadRequest, 'type' | 'seq'>): Promise<LoadResult>;
  stop(): Promise<void>;
}

export async function startLoadGenerator(files: LoadFiles): Promise<LoadGenerator> {
  const child: ChildProcess = track(
    fork(join(__dirname, 'load-generator.ts'), [JSON.stringify(files)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  let seq = 0;
  const pending = new Map<
    number,
    { resolve: (result: LoadResult) => void; reject: (error: Error) => void }
  >();
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`load generator exited (${code}) before it was ready`)));
    child.on('message', (message: LoadMessage) => {
      if (message.type === 'ready') resolve();
      if (message.type === 'result') pending.get(message.seq)?.resolve(message.result);
      if (message.type === 'error') pending.get(message.seq)?.reject(new Error(message.message));
      if (message.type !== 'ready') pending.delete(message.seq);
    });
  });
  child.on('exit', (code) => {
    for (const { reject } of pending.values()) reject(new Error(`load generator exited (${code})`));
    pending.clear();
  });
  await ready;
  return {
    run(request) {
      const message: LoadRequest = { type: 'run', seq: ++seq, ...request };
      return new Promise((resolve, reject) => {
        pending.set(message.seq, { resolve, reject });
        child.send(message);
      });
    },
    async stop() {
      child.disconnect();
      if (!(await waitForExit(child, 5000)) && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    },
  };
}
