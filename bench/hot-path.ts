// The hot path's limits, in instructions per request (callgrind), each against a floor measured beside
// it: what `npm run check:hot-path` (test/hot-path-instructions.check.ts) enforces, and the goals
// bench/README.md reports today's figures against. Instructions, not time: they do not depend on what
// else the machine runs; but a whole process' count moves between windows (V8's compiler and GC
// threads count too), which is why the check is not yet part of npm test.
import type { InstructionPlan } from './instructions';

export interface HotPathLimit {
  /** The server held to the limit, and the floor it is measured against (keys of bench/server-list.ts). */
  server: string;
  floor: string;
  /** The guard fails above this ratio. */
  atMost: number;
  /** What the library aims for. */
  goal: number;
  what: string;
}

export const HOT_PATH_LIMITS: HotPathLimit[] = [
  {
    server: 'bearer',
    floor: 'floor-middleware',
    atMost: 1.1,
    goal: 1.05,
    what: 'the uncached check (server 3) against the floor written as a middleware (server 9)',
  },
  // Not yet the 1.05 asked for: a cache hit counted 1.20× bare Express on 2026-12-07 (bench/README.md),
  // and bare Express' windows spread by a quarter. This keeps today's level from getting worse; lower
  // it as the hit path comes down and more runs show the spread.
  {
    server: 'cached',
    floor: 'bare',
    atMost: 1.4,
    goal: 1.03,
    what: 'a cache hit (server 6) against bare Express (server 1)',
  },
];

/**
 * The guard's counts: the warm-up of `--instructions` (PLAN: 20,000 requests, uncounted, cheap with
 * callgrind's instrumentation off; fewer left the first window 10 to 45% high) and half its counted
 * requests (2 windows of 2,000), so that five servers under valgrind finish in minutes; enough that the
 * ratios move by well under the limits' margins from one run to the next (bench/README.md gives the
 * spread of the runs so far).
 */
export const GUARD_PLAN: InstructionPlan = {
  warmupRequests: 20_000,
  windowRequests: 2_000,
  windows: 2,
  connections: 8,
};
