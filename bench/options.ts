// Command-line options of `npm run bench` (see `npm run bench -- --help`).
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';

export interface BenchOptions {
  tokens: number;
  rounds: number;
  durationSec: number;
  warmupSec: number;
  floodSec: number;
  connections: number;
  servers: number[];
  out: string;
  quick: boolean;
  /** Also run server 3 against a second Redis holding this many tokens, in the same rounds. */
  scale: number | null;
  /** Add server 8: the library's BearerTokenStrategy behind passport.authenticate(). */
  withStrategy: boolean;
  /** Add servers 9 and 10: the floor as a middleware, and the library's check by hand. */
  withBaselines: boolean;
  /** Write a V8 CPU profile of every server process into this dir (node --cpu-prof). */
  profile: string | null;
  /** Also count each server's instructions per request under valgrind's callgrind. */
  instructions: boolean;
}

export const MAX_TOKENS = 1_000_000;

function integer(min: number, max: number) {
  return (text: string): number => {
    const value = Number(text.replace(/[_,]/g, ''));
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

function seconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > 3600)
    throw new InvalidArgumentError('expected seconds > 0');
  return value;
}

function serverList(text: string): number[] {
  const ids = text.split(',').map((part) => Number(part.trim()));
  if (ids.some((id) => !Number.isInteger(id) || id < 1 || id > 6)) {
    throw new InvalidArgumentError('expected server numbers 1-6, comma-separated');
  }
  return [...new Set(ids)].sort((a, b) => a - b);
}

export function parseOptions(argv: string[]): BenchOptions {
  const program = new Command('bench')
    .description(
      'Benchmarks personalTokenAuth() against the Redis floor, naive passport and JWT, each server its own process.\n' +
        'Only ratios from one run mean anything: absolute figures move with whatever else the machine does.',
    )
    .option(
      '--tokens <n>',
      `tokens to seed (up to ${MAX_TOKENS.toLocaleString('en-US')})`,
      integer(1, MAX_TOKENS),
    )
    .option('--quick', 'a short run (under 60 s) to check that everything works; its figures are rough')
    .option('--rounds <n>', 'rounds over all servers; medians are reported', integer(1, 100))
    .option('--duration <s>', 'seconds of load per server per round', seconds)
    .option('--warmup <s>', 'seconds of unmeasured load per server before the first round', seconds)
    .option('--flood <s>', 'seconds of malformed / bad-checksum tokens per server', seconds)
    .option('--connections <n>', 'concurrent connections of the load generator', integer(1, 1000), 50)
    .option(
      '--servers <list>',
      'only these servers, e.g. 1,2,5,6 (2, the floor, is needed for ratios)',
      serverList,
    )
    .option(
      '--scale <n>',
      `also run server 3 against a second Redis holding n tokens (up to ${MAX_TOKENS.toLocaleString('en-US')})`,
      integer(1, MAX_TOKENS),
    )
    .option(
      '--with-strategy',
      "add server 8: the library's BearerTokenStrategy behind passport.authenticate()",
    )
    .option(
      '--with-baselines',
      "add server 9 (the floor as a middleware that sets req.user and req.authInfo) and server 10 (the library's check by hand)",
    )
    .option('--out <file>', 'where to write the JSON results', join(__dirname, 'results.json'))
    .option('--profile <dir>', 'write a CPU profile of every server process (node --cpu-prof) into dir')
    .option(
      '--instructions',
      'also count instructions per request of every server under valgrind (callgrind): figures the ' +
        "machine's noise does not move; adds minutes",
    )
    .parse(argv);
  const raw = program.opts<{
    tokens?: number;
    quick?: boolean;
    rounds?: number;
    duration?: number;
    warmup?: number;
    flood?: number;
    connections: number;
    servers?: number[];
    scale?: number;
    withStrategy?: boolean;
    withBaselines?: boolean;
    out: string;
    profile?: string;
    instructions?: boolean;
  }>();
  const quick = raw.quick === true;
  // Many short rounds rather than a few long ones: each ratio pairs two loads close in time, and on a
  // shared machine the conditions drift within seconds (servers identical in code differed by 0.1×
  // with 8 rounds of 6 s).
  return {
    tokens: raw.tokens ?? (quick ? 1_000 : 10_000),
    rounds: raw.rounds ?? (quick ? 2 : 16),
    durationSec: raw.duration ?? (quick ? 2 : 3),
    warmupSec: raw.warmup ?? (quick ? 1 : 3),
    floodSec: raw.flood ?? (quick ? 1 : 3),
    connections: raw.connections,
    servers: raw.servers ?? [1, 2, 3, 4, 5, 6],
    out: raw.out,
    quick,
    scale: raw.scale ?? null,
    withStrategy: raw.withStrategy === true,
    withBaselines: raw.withBaselines === true,
    profile: raw.profile ?? null,
    instructions: raw.instructions === true,
  };
}
