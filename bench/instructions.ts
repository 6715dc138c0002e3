// `npm run bench -- --instructions`: what each server costs per request in instructions, counted by
// valgrind's callgrind, next to the CPU times of the timed rounds.
//
// Why: on a shared virtual machine CPU time per request moves by a third from one round to the
// next (bare Express against the floor, identical loads: 0.69× to 1.26× within one run here), so a
// target of 1.15× the floor's CPU can land on either side of the line by luck. The instructions a
// server executes per request do not depend on what else the machine runs. They still move with
// the server's own state: garbage collections, and V8 still tiering code up well after thousands of
// requests (windows of 1,500 requests differed by 15 to 20% here, the first one the highest), hence
// a long warm-up and several windows, summed. They leave out the kernel's share of the work
// (sockets) and cache misses, so a ratio of instructions is stricter than one of CPU times: they
// complement the times rather than replace them.
//
// How: each server runs under `valgrind --tool=callgrind` (about 50 times slower), takes a
// warm-up so that V8 has compiled its hot code, then several windows of a fixed number of
// requests from the same load generator. Around each window, `callgrind_control` zeroes the
// counters and dumps them; instructions per request = all the windows' totals / all the requests
// the server counted in them. Every thread counts (V8's compiler and GC helpers included): that is
// work the requests caused.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LoadGenerator, LoadKind, TokenPool } from './load';
import type { InstructionResult } from './report';
import { FLOOR_ID, type ServerDefinition } from './server-list';
import { type Launcher, type ServerProcess, startServer } from './server-process';

const run = promisify(execFile);

export interface InstructionPlan {
  warmupRequests: number;
  windowRequests: number;
  windows: number;
  /** Few: under valgrind a request takes tens of ms, and 50 in a queue would outlast the store deadline. */
  connections: number;
}

// After 2,000 requests of warm-up the first window counted 45% more than the next ones; after
// 4,000, still 10 to 20% more.
export const INSTRUCTION_PLAN: InstructionPlan = {
  warmupRequests: 6_000,
  windowRequests: 1_500,
  windows: 3,
  connections: 8,
};
export const QUICK_INSTRUCTION_PLAN: InstructionPlan = {
  warmupRequests: 200,
  windowRequests: 100,
  windows: 2,
  connections: 4,
};

export interface InstructionCount {
  /** Instructions per request in each window. */
  windows: number[];
  /** Over all the windows: their instructions / their requests. */
  perRequest: number;
  /** Requests the server counted over all windows. */
  requests: number;
  statusCounts: Record<string, number>;
}

/** Whether valgrind and callgrind_control are installed (the option needs both). */
export async function callgrindAvailable(): Promise<boolean> {
  try {
    await run('valgrind', ['--version']);
    await run('callgrind_control', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** Runs a server's Node under callgrind, its counts dumped into `dir` as callgrind.<pid>.<n>. */
export function callgrindLauncher(dir: string): Launcher {
  return {
    command: 'valgrind',
    args: [
      '--tool=callgrind',
      '--quiet',
      `--callgrind-out-file=${join(dir, 'callgrind.%p')}`,
      // Totals are all this reads: no per-instruction detail to write.
      '--dump-instr=no',
    ],
    // Node, tsx and the server's modules take 10 to 60 s to load under valgrind.
    startTimeoutMs: 300_000,
  };
}

/** The instruction total of a callgrind dump (its `totals:` line, else `summary:`). */
export function dumpTotal(text: string): number {
  const match = /^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text);
  if (!match) throw new Error('callgrind dump without a totals or summary line');
  return Number(match[1]);
}

function latestDump(dir: string, pid: number): string {
  const prefix = `callgrind.${pid}.`;
  const numbered = readdirSync(dir)
    .filter((name) => name.startsWith(prefix))
    .map((name) => Number(name.slice(prefix.length)))
    .filter(Number.isInteger);
  if (numbered.length === 0) throw new Error(`no callgrind dump of process ${pid} in ${dir}`);
  return join(dir, `${prefix}${Math.max(...numbered)}`);
}

async function callgrindControl(command: '--zero' | '--dump', pid: number): Promise<void> {
  // It answers once the process next runs guest code; an idle server still does (timers, IPC).
  await run('callgrind_control', [command, String(pid)], { timeout: 60_000 });
}

/** Counts a server's instructions per request; `server` must have been started with `callgrindLauncher(dir)`. */
export async function countInstructions(
  server: ServerProcess,
  load: LoadGenerator,
  options: { kind: LoadKind; pool: TokenPool; dir: string; plan: InstructionPlan },
): Promise<InstructionCount> {
  const { plan } = options;
  const loadOf = (amount: number) =>
    load.run({
      url: server.url,
      kind: options.kind,
      pool: options.pool,
      connections: plan.connections,
      durationSec: 0,
      amount,
    });
  await loadOf(plan.warmupRequests);
  const windows: number[] = [];
  const statusCounts: Record<string, number> = {};
  let requests = 0;
  let instructions = 0;
  for (let window = 0; window < plan.windows; window++) {
    await callgrindControl('--zero', server.pid);
    const before = await server.stats();
    const result = await loadOf(plan.windowRequests);
    const after = await server.stats();
    await callgrindControl('--dump', server.pid);
    const counted = after.requests - before.requests;
    const total = dumpTotal(readFileSync(latestDump(options.dir, server.pid), 'utf8'));
    windows.push(total / counted);
    instructions += total;
    requests += counted;
    for (const [status, count] of Object.entries(result.statusCounts))
      statusCounts[status] = (statusCounts[status] ?? 0) + count;
  }
  return { windows, perRequest: instructions / requests, requests, statusCounts };
}

/**
 * Counts every server's instructions per request, each in a process of its own under callgrind (its
 * dumps in `dir`), as many at once as there are CPUs: their counts do not depend on sharing them.
 * Returns them in the order of `definitions`, with their ratios to the floor's.
 */
export async function countEveryServer(
  definitions: ServerDefinition[],
  options: {
    env: (definition: ServerDefinition) => Record<string, string>;
    pool: (definition: ServerDefinition) => TokenPool;
    load: LoadGenerator;
    dir: string;
    plan: InstructionPlan;
    log: (line: string) => void;
  },
): Promise<InstructionResult[]> {
  mkdirSync(options.dir, { recursive: true });
  const queue = [...definitions];
  const counted = new Map<number, InstructionCount>();
  const worker = async () => {
    for (let definition = queue.shift(); definition; definition = queue.shift()) {
      const server = await startServer(
        definition.file,
        options.env(definition),
        [],
        callgrindLauncher(options.dir),
      );
      try {
        const count = await countInstructions(server, options.load, {
          kind: definition.load,
          pool: options.pool(definition),
          dir: options.dir,
          plan: options.plan,
        });
        counted.set(definition.id, count);
        options.log(
          `  ${definition.id} ${definition.key}: ${Math.round(count.perRequest).toLocaleString('en-US')} instructions per request`,
        );
      } finally {
        await server.stop();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, cpus().length) }, worker));
  const floor = counted.get(FLOOR_ID)?.perRequest;
  return definitions.flatMap((definition) => {
    const count = counted.get(definition.id);
    if (!count) return [];
    const { id, key, name } = definition;
    return [{ id, key, name, ...count, ratioToFloor: floor ? count.perRequest / floor : null }];
  });
}
