// The hot path's guard's counts (test/hot-path-instructions.test.ts): the servers it compares, all in
// one Node process under valgrind's callgrind (servers/several.ts), each loaded in turn by one
// connection with a fixed number of requests per window, round after round. Each window counts only
// the process' main thread, where V8 runs everything when started with HOT_PATH_NODE_FLAGS, and leaves
// out what ran inside the collector and the optimizing compiler: both run when the heap or a function's
// counters say so, in one window rather than another, whatever the request path is. What is left is
// what the requests executed: Node's HTTP, Express, the middleware, ioredis.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readDump } from './callgrind-dump';
import { HOT_PATH_ENV, HOT_PATH_NODE_FLAGS, type HotPathPlan } from './hot-path';
import { runLoad } from './load';
import type { ServerDefinition } from './server-list';
import { startServer } from './server-process';
import type { RunningStore } from './stores';

const run = promisify(execFile);

/** What the collector and the optimizing compiler (and what they call) executed. */
const OUT_OF_BAND = /^v8::internal::(Heap::CollectGarbage|Compiler::CompileOptimized\w*)\(/;
/** Where an `async` function resumes after an `await`: V8's builtins, named even when the caller is JIT code. */
const AWAIT_RESUMED = /^Builtins_AsyncFunctionAwait(Resolve|Reject)Closure/;

export interface HotPathWindow {
  /** Instructions per request, collector and optimizing compiler left out. */
  instructions: number;
  /** `async` functions resumed after an await, per request. */
  awaits: number;
  /** Store commands per request. */
  commands: number;
}

export interface HotPathCount {
  server: ServerDefinition;
  windows: HotPathWindow[];
  /**
   * The windows on the hot path: those with the fewest store commands per request. A window with more
   * held a rarer path: a token's lastUsedAt written (due once per touchInterval, 60 s of the clock by
   * default, so whichever window that falls in), or a cache miss.
   */
  hot: HotPathWindow[];
  /** The median of the hot windows' instructions: a window in which V8 dropped and rebuilt code does not move it. */
  perRequest: number;
  /** The median of the hot windows' awaits. */
  awaitsPerRequest: number;
  /** Responses other than 2xx in the windows: then what was counted is not the path it is meant to be. */
  failed: number;
}

export interface HotPathTarget {
  server: ServerDefinition;
  /** The seeded credentials file its load draws from. */
  credentials: string;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export async function countHotPath(
  targets: HotPathTarget[],
  options: {
    store: RunningStore;
    tokens: number;
    plan: HotPathPlan;
    dir: string;
    log: (line: string) => void;
  },
): Promise<HotPathCount[]> {
  const { plan, dir, log } = options;
  mkdirSync(dir, { recursive: true });
  const launcher = [
    'valgrind',
    '--tool=callgrind',
    '--quiet',
    '--dump-instr=no',
    '--instr-atstart=no',
    // One dump per thread: the main thread's is `<file>-01`.
    '--separate-threads=yes',
    `--callgrind-out-file=${dir}/callgrind.%p`,
  ];
  const files = targets.map(({ server }) => server.file).join(',');
  const env = { ...options.store.env, ...HOT_PATH_ENV, SERVER_FILES: files };
  const server = await startServer('several.ts', env, launcher, HOT_PATH_NODE_FLAGS);
  try {
    log('the servers are up under valgrind');
    // callgrind_control answers once the process next runs guest code; an idle server still does (timers, IPC).
    const control = (command: string) =>
      run('callgrind_control', [command, String(server.pid)], { timeout: 120_000 });
    const load = (index: number, amount: number, connections: number) =>
      runLoad({
        url: server.urls[index]!,
        kind: targets[index]!.server.load,
        credentials: targets[index]!.credentials,
        tokens: options.tokens,
        connections,
        durationSec: 0,
        amount,
        // Every window draws the same tokens in the same order: the same work, window after window.
        inOrder: true,
      });
    // Each token checked once first, as in an app whose tokens are in use (a first check writes
    // lastUsedAt; a cache fills), then the warm-up, with the instrumentation off (the process runs the
    // same, several times faster, uncounted), the servers in turns, as in the counted rounds.
    for (let index = 0; index < targets.length; index++)
      if (targets[index]!.server.library) await load(index, options.tokens, 4);
    log('each token checked once');
    for (let round = 0; round < plan.warmupRounds; round++)
      for (let index = 0; index < targets.length; index++) await load(index, plan.warmupRequests, 8);
    log('warmed up');
    // A dump also zeroes the counters: each window's dump holds that window alone.
    await control('--instr=on');
    await control('--zero');
    const counts = targets.map(({ server }) => ({ server, windows: [] as HotPathWindow[], failed: 0 }));
    for (let round = 0; round < plan.rounds; round++) {
      for (let index = 0; index < targets.length; index++) {
        const commandsBefore = await options.store.commands();
        const { statusCounts } = await load(index, plan.windowRequests, 1);
        await control('--dump');
        const commands = (await options.store.commands()) - commandsBefore;
        const requests = Object.values(statusCounts).reduce((sum, n) => sum + n, 0);
        const dump = readDump(latestMainThreadDump(dir, server.pid), {
          inside: OUT_OF_BAND,
          called: AWAIT_RESUMED,
        });
        const count = counts[index]!;
        count.windows.push({
          instructions: (dump.total - dump.inside) / requests,
          awaits: dump.calls / requests,
          commands: commands / requests,
        });
        for (const [code, n] of Object.entries(statusCounts)) count.failed += code.startsWith('2') ? 0 : n;
      }
    }
    return counts.map(({ server, windows, failed }) => {
      const fewest = Math.min(...windows.map((window) => window.commands));
      const hot = windows.filter((window) => window.commands === fewest);
      return {
        server,
        windows,
        hot,
        perRequest: median(hot.map((window) => window.instructions)),
        awaitsPerRequest: median(hot.map((window) => window.awaits)),
        failed,
      };
    });
  } finally {
    await server.stop();
  }
}

function latestMainThreadDump(dir: string, pid: number): string {
  const prefix = `callgrind.${pid}.`;
  const numbers = readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && name.endsWith('-01'))
    .map((name) => Number(name.slice(prefix.length, -3)));
  return join(dir, `${prefix}${Math.max(...numbers)}-01`);
}
