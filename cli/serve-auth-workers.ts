// `serve-auth --workers N`: N processes (node:cluster) answer on one listening port, each a whole
// serve-auth of its own (its config file loaded, its store connections, its cache). The primary opens
// nothing: it starts the workers, restarts one that dies (later and later while they keep dying, never
// a crash loop), and on SIGTERM or SIGINT has every worker drain as a single serve-auth does.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { EXIT_FAILURE, EXIT_OK, UsageError } from './errors';

export const MAX_WORKERS = 64;

// A worker that dies is replaced after RESTART_MS, doubled for every other death within RECENT_MS,
// at most MAX_RESTART_MS: one crash costs a moment, a worker that cannot start costs almost nothing.
const RESTART_MS = 100;
const MAX_RESTART_MS = 30_000;
const RECENT_MS = 60_000;

/** What a worker tells the primary once it listens: its startup line, printed once for them all. */
interface ListeningMessage {
  serveAuth: 'listening';
  line: string;
}

/** `--workers`: a whole number from 1 to 64, or `auto` (the CPUs this process may use); default 1. */
export function parseWorkers(text: string | undefined): number {
  if (text === undefined) return 1;
  if (text === 'auto') return Math.min(availableParallelism(), MAX_WORKERS);
  const workers = /^\d{1,2}$/.test(text) ? Number(text) : NaN;
  if (!(workers >= 1 && workers <= MAX_WORKERS)) {
    throw new UsageError(`--workers must be a whole number from 1 to ${MAX_WORKERS}, or auto (got ${text})`);
  }
  return workers;
}

/** True in a process that `superviseWorkers` started. */
export const isServeAuthWorker = (): boolean => cluster.isWorker;

/** In a worker: hands the startup line to the primary, which prints it once for all workers. */
export function announceFromWorker(line: string): void {
  const message: ListeningMessage = { serveAuth: 'listening', line };
  process.send?.(message);
}

/**
 * In the primary: runs `count` workers, each `cli` with `argv` (the same command line), until SIGTERM
 * or SIGINT, then drains them all; resolves with the exit code. A worker that exits before any worker
 * listened is a failure to start (a bad config, an unreachable store): the others are stopped and its
 * exit code is the command's, as a single serve-auth's would be.
 */
export function superviseWorkers(
  options: { count: number; cli: string; argv: readonly string[]; env: Record<string, string | undefined> },
  stderr: (text: string) => void,
): Promise<number> {
  const say = (text: string) => stderr(`personal-token serve-auth: ${text}\n`);
  cluster.setupPrimary({ exec: options.cli, args: [...options.argv] });
  const workers = new Set<Worker>();
  const deaths: number[] = [];
  let listened = false;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let pending = 0;

  return new Promise<number>((resolve) => {
    let exitCode = EXIT_OK;
    const stop = (signal: NodeJS.Signals | null, code: number) => {
      if (stopping) return;
      stopping = true;
      exitCode = code;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      clearTimeout(restartTimer);
      if (signal) say(`${signal}, stopping ${workers.size} workers`);
      for (const worker of workers) worker.process.kill('SIGTERM');
      if (workers.size === 0) resolve(exitCode);
    };
    const onSignal = (signal: NodeJS.Signals) => stop(signal, EXIT_OK);
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);

    const start = () => {
      const worker = cluster.fork(options.env);
      workers.add(worker);
      worker.on('message', (message: Partial<ListeningMessage>) => {
        if (message?.serveAuth !== 'listening') return;
        if (!listened) stderr(`${message.line}\n`);
        listened = true;
      });
      worker.on('exit', (code, signal) => {
        workers.delete(worker);
        if (stopping) {
          if (workers.size === 0) resolve(exitCode);
          return;
        }
        if (!listened) return stop(null, code || EXIT_FAILURE);
        const now = Date.now();
        deaths.push(now);
        while (deaths[0]! < now - RECENT_MS) deaths.shift();
        const delay = Math.min(RESTART_MS * 2 ** (deaths.length - 1), MAX_RESTART_MS);
        say(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); a new one in ${delay} ms`);
        pending++;
        restartTimer = setTimeout(restartPending, delay);
      });
    };
    // Every worker that died since the timer was set is replaced when it fires.
    const restartPending = () => {
      if (stopping) return;
      for (; pending > 0; pending--) start();
    };
    for (let index = 0; index < options.count; index++) start();
  });
}
