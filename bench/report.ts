// Turns the measurements of a run into medians, ratios to the floor (server 2), the target
// checks, a text table and the JSON written to results.json.

import type { Measurement } from './measure';
import type { TokenMemory } from './memory';
import { FLOOR_ID, type ServerDefinition } from './server-list';

export const NOISE_NOTE =
  'Only ratios within one run mean anything: this machine is shared and noisy, so absolute figures move ' +
  'from run to run, while the servers of one run are interleaved round by round and see the same conditions.';

export interface Summary {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  peakRssMb: number;
  redisCommandsPerRequest: number;
  redisCallsPerRequest: number;
  redisCpuUsPerRequest: number;
}

export interface ServerResult {
  id: number;
  key: string;
  name: string;
  median: Summary;
  /**
   * Each figure as a ratio to the floor's (server 2): the median over rounds of this server's figure
   * over the floor's *in the same round*, so that a round on a busier machine weighs on both alike.
   * The table and the target checks use these. Null without server 2.
   */
  ratioToFloor: Summary | null;
  /** The plain median divided by the floor's median, for comparison. */
  ratioOfMedians: Summary | null;
  /** Median per-request calls of each command Redis executed (INFO commandstats). */
  redisCallsByCommand: Record<string, number>;
  rounds: Measurement[];
  warnings: string[];
}

export interface FloodResult {
  id: number;
  key: string;
  name: string;
  reqPerSec: number;
  requests: number;
  /** Commands Redis executed during the flood (INFO commandstats), the harness' INFO excluded. */
  redisCalls: number;
  redisCommandsSent: number;
  statusCounts: Record<string, number>;
}

/** One server's instructions per request (bench/instructions.ts), with its ratio to the floor's. */
export interface InstructionResult {
  id: number;
  key: string;
  name: string;
  perRequest: number;
  windows: number[];
  requests: number;
  statusCounts: Record<string, number>;
  ratioToFloor: number | null;
}

export interface TargetCheck {
  target: string;
  value: string;
  met: boolean | null;
}

const KEYS: (keyof Summary)[] = [
  'reqPerSec',
  'p50Ms',
  'p99Ms',
  'cpuUsPerRequest',
  'peakRssMb',
  'redisCommandsPerRequest',
  'redisCallsPerRequest',
  'redisCpuUsPerRequest',
];

export function median(values: number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function summarize(rounds: Measurement[]): Summary {
  const summary = {} as Summary;
  for (const key of KEYS) summary[key] = median(rounds.map((round) => round[key]));
  // Peak RSS is a high-water mark since the process started: the last reading is the peak.
  summary.peakRssMb = Math.max(...rounds.map((round) => round.peakRssMb));
  return summary;
}

function warningsFor(definition: ServerDefinition, rounds: Measurement[]): string[] {
  const warnings: string[] = [];
  for (const [index, round] of rounds.entries()) {
    const total = Object.values(round.statusCounts).reduce((sum, n) => sum + n, 0);
    const ok = Object.entries(round.statusCounts)
      .filter(([code]) => code.startsWith('2'))
      .reduce((sum, [, n]) => sum + n, 0);
    if (ok < total || round.errors > 0 || round.timeouts > 0) {
      warnings.push(
        `round ${index + 1}: ${total - ok} of ${total} responses were not 2xx ` +
          `(${JSON.stringify(round.statusCounts)}), ${round.errors} errors, ${round.timeouts} timeouts`,
      );
    }
  }
  if (definition.usesRedis && rounds.some((round) => round.redisCommandsPerRequest === 0)) {
    warnings.push('sent no Redis command at all: is it really checking tokens?');
  }
  return warnings;
}

export function summarizeServers(
  definitions: ServerDefinition[],
  measurements: Map<number, Measurement[]>,
): ServerResult[] {
  const results = definitions.map((definition) => {
    const rounds = measurements.get(definition.id) ?? [];
    const byCommand: Record<string, number> = {};
    const commands = new Set(rounds.flatMap((round) => Object.keys(round.redisCallsByCommand)));
    for (const command of commands) {
      byCommand[command] = median(rounds.map((round) => round.redisCallsByCommand[command] ?? 0));
    }
    return {
      id: definition.id,
      key: definition.key,
      name: definition.name,
      median: summarize(rounds),
      ratioToFloor: null as Summary | null,
      ratioOfMedians: null as Summary | null,
      redisCallsByCommand: byCommand,
      rounds,
      warnings: warningsFor(definition, rounds),
    };
  });
  const floor = results.find((result) => result.id === FLOOR_ID);
  if (floor) {
    for (const result of results) {
      const ofMedians = {} as Summary;
      const paired = {} as Summary;
      for (const key of KEYS) {
        ofMedians[key] = result.median[key] / floor.median[key];
        paired[key] = pairedRatio(result, floor, key);
      }
      result.ratioToFloor = paired;
      result.ratioOfMedians = ofMedians;
    }
  }
  return results;
}

/** Median over rounds of a's figure over b's in the same round (NaN without b). */
export function pairedRatio(
  a: { rounds: Measurement[] },
  b: { rounds: Measurement[] } | undefined,
  key: keyof Summary,
): number {
  if (!b) return Number.NaN;
  return median(a.rounds.map((round, i) => round[key] / (b.rounds[i]?.[key] ?? Number.NaN)));
}

// ---------------------------------------------------------------------------------------------
// The targets the bench checks

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function checkTargets(
  servers: ServerResult[],
  floods: FloodResult[],
  memory: TokenMemory | null,
  scale: { tokens: number; baseTokens: number } | null,
  instructions: InstructionResult[] = [],
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const byId = (id: number) => servers.find((server) => server.id === id);
  const floor = byId(FLOOR_ID);
  const naive = byId(5);
  const jwt = byId(6);
  for (const library of [byId(3), byId(4)]) {
    if (!library) continue;
    const label = `${library.id} ${library.key}`;
    const ratio = (other: ServerResult | undefined, key: keyof Summary) => pairedRatio(library, other, key);
    const ratioCheck = (target: string, value: number, met: (v: number) => boolean) =>
      checks.push(
        Number.isFinite(value)
          ? { target, value: `${fixed(value, 2)}×`, met: met(value) }
          : { target, value: 'not measured in this run', met: null },
      );
    ratioCheck(`${label}: req/s ≥ 0.90× the floor (2)`, ratio(floor, 'reqPerSec'), (v) => v >= 0.9);
    ratioCheck(
      `${label}: server CPU/request ≤ 1.15× the floor (2)`,
      ratio(floor, 'cpuUsPerRequest'),
      (v) => v <= 1.15,
    );
    ratioCheck(`${label}: req/s ≥ 1.3× naive passport (5)`, ratio(naive, 'reqPerSec'), (v) => v >= 1.3);
    ratioCheck(`${label}: req/s ≥ 1.2× JWT (6)`, ratio(jwt, 'reqPerSec'), (v) => v >= 1.2);
    const counted = instructions.find((result) => result.id === library.id);
    if (counted?.ratioToFloor != null) {
      ratioCheck(
        `${label}: server CPU/request ≤ 1.15× the floor (2), in instructions (callgrind: user space, unmoved by other tenants)`,
        counted.ratioToFloor,
        (v) => v <= 1.15,
      );
    }
    const commands = library.median.redisCommandsPerRequest;
    checks.push({
      target: `${label}: exactly 1 Redis command per authenticated request`,
      value: `${fixed(commands, 3)} sent (${fixed(library.median.redisCallsPerRequest, 2)} executed incl. inside Lua)`,
      met: Math.abs(commands - 1) < 0.005,
    });
  }
  for (const flood of floods.filter((f) => f.id === 3 || f.id === 4)) {
    checks.push({
      target: `${flood.id} ${flood.key}: 0 Redis commands per malformed / bad-checksum token`,
      value: `${flood.redisCalls} commands for ${flood.requests.toLocaleString('en-US')} requests`,
      met: flood.redisCalls === 0 && flood.redisCommandsSent === 0,
    });
  }
  if (memory) {
    checks.push({
      target: '≤ 300 bytes of Redis memory per stored token (hash + share of the per-user index)',
      value: `${fixed(memory.bytesPerToken, 0)} B (${fixed(memory.tokenHashBytes, 0)} + ${fixed(memory.indexBytesPerToken, 0)})`,
      met: memory.bytesPerToken <= 300,
    });
  }
  const strategy = servers.find((server) => server.key === 'strategy');
  const direct = byId(3);
  if (strategy && direct) {
    checks.push({
      target:
        'for the README: personalTokenAuth() (3) against its own strategy via passport.authenticate() (8)',
      value:
        `${fixed(pairedRatio(direct, strategy, 'reqPerSec'), 2)}× the req/s, ` +
        `${fixed(pairedRatio(direct, strategy, 'cpuUsPerRequest'), 2)}× the CPU per request`,
      met: null,
    });
  }
  const scaled = servers.find((server) => server.key === 'bearer-scale');
  const bearer = byId(3);
  if (scale && scaled && bearer) {
    const ratio = pairedRatio(scaled, bearer, 'reqPerSec');
    checks.push({
      target: `req/s with ${scale.tokens.toLocaleString('en-US')} tokens stored within 10% of ${scale.baseTokens.toLocaleString('en-US')}`,
      value: `${fixed(ratio, 2)}× (same run, interleaved)`,
      met: ratio >= 0.9,
    });
  } else {
    checks.push({
      target: 'req/s with 1,000,000 tokens stored within 10% of 10,000',
      value: 'not measured in this run (use --scale 1000000)',
      met: null,
    });
  }
  return checks;
}

// ---------------------------------------------------------------------------------------------
// Text output

interface Column {
  title: string;
  key: keyof Summary;
  format: (value: number) => string;
}

const COLUMNS: Column[] = [
  { title: 'req/s', key: 'reqPerSec', format: (v) => Math.round(v).toLocaleString('en-US') },
  { title: 'p50 ms', key: 'p50Ms', format: (v) => fixed(v, 2) },
  { title: 'p99 ms', key: 'p99Ms', format: (v) => fixed(v, 2) },
  { title: 'CPU µs/req', key: 'cpuUsPerRequest', format: (v) => fixed(v, 1) },
  { title: 'peak RSS MB', key: 'peakRssMb', format: (v) => fixed(v, 0) },
  { title: 'Redis cmds/req', key: 'redisCommandsPerRequest', format: (v) => fixed(v, 2) },
  { title: 'incl. Lua', key: 'redisCallsPerRequest', format: (v) => fixed(v, 2) },
  { title: 'Redis µs/req', key: 'redisCpuUsPerRequest', format: (v) => fixed(v, 1) },
];

function ratioText(value: number): string {
  if (!Number.isFinite(value)) return '';
  return `${value.toFixed(2)}×`;
}

export function formatTable(servers: ServerResult[], markdown = false): string {
  const header = ['#', 'server', ...COLUMNS.map((column) => column.title)];
  const rows = servers.map((server) => [
    String(server.id),
    server.name,
    ...COLUMNS.map((column) => {
      // A server without Redis shows a plain 0 for the Redis columns, not "0.00 (0.00×)".
      if (server.median[column.key] === 0) return '0';
      const value = column.format(server.median[column.key]);
      const ratio = server.ratioToFloor ? ratioText(server.ratioToFloor[column.key]) : '';
      return ratio ? `${value} (${ratio})` : value;
    }),
  ]);
  if (markdown) {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [
      line(header),
      line(header.map((_, i) => (i < 2 ? '---' : '---:'))),
      ...rows.map((row) => line(row)),
    ].join('\n');
  }
  return alignColumns(header, rows, (i) => i >= 2);
}

/** A plain-text table: columns as wide as their widest cell, the numeric ones right-aligned. */
function alignColumns(header: string[], rows: string[][], numeric: (column: number) => boolean): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const pad = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [pad(header), ...rows.map(pad)].join('\n');
}

/** Response counts by status, as `200×1,500 401×3`. */
function statusText(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([code, n]) => `${code}×${n.toLocaleString('en-US')}`)
    .join(' ');
}

export function formatFloods(floods: FloodResult[]): string {
  return floods
    .map((flood) => {
      const per = flood.requests > 0 ? flood.redisCalls / flood.requests : Number.NaN;
      return (
        `  ${flood.id} ${flood.name}: ${Math.round(flood.reqPerSec).toLocaleString('en-US')} req/s, ` +
        `${flood.redisCalls.toLocaleString('en-US')} Redis commands (${fixed(per, 3)}/req), responses ${statusText(flood.statusCounts)}`
      );
    })
    .join('\n');
}

export function formatInstructions(results: InstructionResult[]): string {
  const rows = results.map((result) => {
    const spread =
      result.windows.length > 1
        ? `${fixed(((Math.max(...result.windows) - Math.min(...result.windows)) / result.perRequest) * 100, 1)}%`
        : '';
    return [
      String(result.id),
      result.name,
      `${Math.round(result.perRequest).toLocaleString('en-US')}${result.ratioToFloor ? ` (${ratioText(result.ratioToFloor)})` : ''}`,
      spread,
      statusText(result.statusCounts),
    ];
  });
  const header = ['#', 'server', 'instructions/req', 'spread', 'responses'];
  return alignColumns(header, rows, (i) => i === 2 || i === 3);
}

export function formatTargets(checks: TargetCheck[]): string {
  const mark = (met: boolean | null) => (met === null ? '[ -- ]' : met ? '[ met]' : '[MISS]');
  return checks.map((check) => `  ${mark(check.met)} ${check.target}: ${check.value}`).join('\n');
}
