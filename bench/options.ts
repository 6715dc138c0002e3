// Command-line options of `npm run bench` (`npm run bench -- --help` lists them).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { SERVERS, type ServerDefinition, WORKLOADS, type Workload, workloadNamed } from './server-list';

const number = (min: number, max: number, whole: boolean) => (text: string) => {
  const value = Number(text);
  if (!(value >= min && value <= max) || (whole && !Number.isInteger(value)))
    throw new InvalidArgumentError(`expected a ${whole ? 'whole ' : ''}number from ${min} to ${max}`);
  return value;
};

const list =
  <T>(find: (part: string) => T | null | undefined) =>
  (text: string): T[] =>
    [...new Set(text.split(','))].map((part) => {
      const found = find(part.trim());
      if (found == null) throw new InvalidArgumentError(`unknown: ${part}`);
      return found;
    });

function checkout(text: string): string {
  if (existsSync(join(resolve(text), 'package.json')) && existsSync(join(resolve(text), 'node_modules')))
    return resolve(text);
  throw new InvalidArgumentError('expected a checkout with its package.json and node_modules');
}

const serverNamed = (part: string) => SERVERS.find((s) => `${s.id}` === part || s.key === part);

export function parseOptions(argv: string[]) {
  const servers = SERVERS.map((s) => `${s.id} ${s.key}${s.optional ? ' (optional)' : ''}`).join(', ');
  const workloads = WORKLOADS.map((w) => `${w.key} (${w.tokens} tokens)`).join(', ');
  const raw = new Command('bench')
    .description(`Each server in its own process, loaded in interleaved rounds. Servers: ${servers}.`)
    .option('--servers <list>', 'ids or keys (default: all but the optional)', list(serverNamed))
    .option('--workloads <list>', `${workloads}, or a number of tokens (default hot)`, list(workloadNamed))
    .option('--rounds <n>', 'rounds over all servers (default 16)', number(1, 100, true))
    .option('--duration <s>', 'seconds of load per server per round (default 3)', number(0.1, 600, false))
    .option(
      '--warmup <s>',
      'seconds of load per server before the rounds (default 3)',
      number(0.1, 600, false),
    )
    .option('--connections <n>', 'concurrent connections of the load', number(1, 1000, true), 50)
    .option('--compare <dir>', 'also run the library servers on the code of that checkout', checkout)
    .option('--instructions', 'also count instructions per request under valgrind (callgrind); adds minutes')
    .option('--quick', 'a short run to check that everything works: 2 rounds × 2 s, 1,000 tokens')
    .option('--out <file>', 'where to write the JSON results', join(__dirname, 'results.json'))
    .parse(argv)
    .opts();
  const quick = raw.quick === true;
  // Many short rounds rather than a few long ones: each ratio pairs two loads close in time, and on a
  // shared machine conditions drift within seconds.
  return {
    servers: ((raw.servers ?? SERVERS.filter((s) => !s.optional)) as ServerDefinition[]).sort(
      (a, b) => a.id - b.id,
    ),
    workloads: (raw.workloads as Workload[] | undefined) ?? [quick ? workloadNamed('1000')! : WORKLOADS[0]!],
    rounds: (raw.rounds as number | undefined) ?? (quick ? 2 : 16),
    durationSec: (raw.duration as number | undefined) ?? (quick ? 2 : 3),
    warmupSec: (raw.warmup as number | undefined) ?? (quick ? 1 : 3),
    connections: raw.connections as number,
    /** Another checkout whose library code the library servers also run, labelled "(before)". */
    compare: (raw.compare as string | undefined) ?? null,
    instructions: raw.instructions === true,
    quick,
    out: raw.out as string,
  };
}
