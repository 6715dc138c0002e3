// `--instructions`: what each server executes per request, counted by valgrind's callgrind, each server
// in a process of its own, every thread counted (the hot path's guard counts otherwise: see
// bench/hot-path-count.ts). CPU time per request on a shared machine moves
// by a third from one round to the next; the instructions a server executes do not depend on what else
// the machine runs. They still move with the server's own state (garbage collections, V8 tiering code
// up long after thousands of requests), hence a long warm-up and several windows, summed. They leave out the kernel's share (sockets), so their ratios are stricter
// than those of CPU time. The warm-up runs with callgrind's instrumentation off (valgrind still runs
// the process, several times faster than when it counts): what the guest executes is the same, only
// not counted. Around each window of a fixed number of requests, `callgrind_control` zeroes the
// counters and dumps them; every thread counts (V8's compiler and GC helpers included): that is work
// the requests caused.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type LoadRequest, runLoad } from './load';
import type { Row } from './server-list';
import type { ServerProcess } from './server-process';

const run = promisify(execFile);

// After 2,000 requests of warm-up the first window counted 45% more than the next; after 4,000, 10 to 20%
// more; after 6,000, up to 10% more; after 12,000, a floor's still 9 to 14% more, after 22,000 about 1%. Windows of 1,500 requests spread 6 to 20% (a window holds a major collection or none, and V8
// recompiles the code it keeps dropping for Express' per-request shapes); four of 4,000, 1 to 4%.
// Few connections: under valgrind a request takes tens of ms, and 50 queued would outlast the deadline.
export const PLAN = {
  warmupRequests: 20_000,
  windowRequests: 4_000,
  windows: 4,
  connections: 8,
};
export const QUICK_PLAN = { ...PLAN, warmupRequests: 200, windowRequests: 100, windows: 2, connections: 4 };
export type InstructionPlan = typeof PLAN;

export interface InstructionCount {
  /** The windows' instructions / their requests. */
  perRequest: number;
  /** Instructions per request in each window. */
  windows: number[];
  /** Responses other than 2xx in the windows: then what was counted is not the path it is meant to be. */
  failed: number;
}

export function callgrindAvailable(): Promise<boolean> {
  return Promise.all([run('valgrind', ['--version']), run('callgrind_control', ['--version'])]).then(
    () => true,
    () => false,
  );
}

/** The instruction total of a process' latest callgrind dump in `dir`. */
function latestTotal(dir: string, pid: number): number {
  const prefix = `callgrind.${pid}.`;
  const dumps = readdirSync(dir).filter((name) => name.startsWith(prefix));
  const latest = Math.max(...dumps.map((name) => Number(name.slice(prefix.length))));
  const text = readFileSync(join(dir, `${prefix}${latest}`), 'utf8');
  return Number((/^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text))?.[1] ?? NaN);
}

async function count(
  server: ServerProcess,
  request: LoadRequest,
  dir: string,
  plan: InstructionPlan,
  library: boolean,
) {
  // callgrind_control answers once the process next runs guest code; an idle server still does (timers, IPC).
  const control = (command: string) =>
    run('callgrind_control', [command, String(server.pid)], { timeout: 60_000 });
  const load = (amount: number, inOrder = false) =>
    runLoad({ ...request, connections: plan.connections, amount, inOrder });
  // As in the timed rounds: each token checked once first, so that the windows count tokens in use
  // (a first check writes lastUsedAt) whatever the workload's size.
  if (library) await load(Math.min(request.tokens, 10_000), true);
  await load(plan.warmupRequests);
  await control('--instr=on');
  const result: InstructionCount = { perRequest: 0, windows: [], failed: 0 };
  let [instructions, requests] = [0, 0];
  for (let window = 0; window < plan.windows; window++) {
    await control('--zero');
    const before = (await server.stats()).requests;
    const { statusCounts } = await load(plan.windowRequests);
    const counted = (await server.stats()).requests - before;
    await control('--dump');
    const total = latestTotal(dir, server.pid);
    result.windows.push(total / counted);
    [instructions, requests] = [instructions + total, requests + counted];
    for (const [code, n] of Object.entries(statusCounts)) result.failed += code.startsWith('2') ? 0 : n;
  }
  return { ...result, perRequest: instructions / requests };
}

/** Counts every row's instructions per request, a server under callgrind each, as many at once as CPUs. */
export async function countInstructions(
  rows: Row[],
  options: {
    start: (row: Row, launcher: string[]) => Promise<ServerProcess>;
    request: (row: Row, url: string) => LoadRequest;
    dir: string;
    plan: InstructionPlan;
    log: (row: Row, perRequest: number) => void;
  },
): Promise<InstructionCount[]> {
  mkdirSync(options.dir, { recursive: true });
  const flags = '--tool=callgrind --quiet --dump-instr=no --instr-atstart=no'.split(' ');
  const launcher = ['valgrind', ...flags, `--callgrind-out-file=${options.dir}/callgrind.%p`];
  const counts = new Array<InstructionCount>(rows.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < rows.length; index = next++) {
      const row = rows[index]!;
      const server = await options.start(row, launcher);
      try {
        counts[index] = await count(
          server,
          options.request(row, server.url),
          options.dir,
          options.plan,
          row.server.library,
        );
        options.log(row, counts[index]!.perRequest);
      } finally {
        await server.stop();
      }
    }
  };
  await Promise.all(Array.from({ length: cpus().length }, worker));
  return counts;
}
