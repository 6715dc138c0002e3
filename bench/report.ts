// Turns a run's measurements into medians and ratios, and those into Markdown tables. Every ratio pairs
// two servers of the same run: timed figures against the floor (server 2) in the same round and
// workload, their median and spread (lowest–highest) over the rounds; instruction counts against the
// floor as a middleware (server 9) under the same workload.
import type { InstructionCount } from './instructions';
import type { Figures, Measurement } from './measure';
import { FLOOR_ID, FLOOR_MIDDLEWARE_ID, type Row } from './server-list';

export const NOISE_NOTE =
  'Only ratios within one run mean anything: on a shared, noisy machine absolute figures move from run to ' +
  'run, while the servers of one run are interleaved round by round and see the same conditions.';

type Ratio = { median: number; lowest: number; highest: number };

function median(values: number[]): number {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : ((sorted[middle - 1] ?? NaN) + sorted[middle]!) / 2;
}

function ratio(rounds: Measurement[], floor: Measurement[], figure: keyof Figures): Ratio {
  const ratios = rounds.map((round, i) => round.figures[figure] / floor[i]!.figures[figure]);
  return { median: median(ratios), lowest: Math.min(...ratios), highest: Math.max(...ratios) };
}

export function summarize(
  rows: Row[],
  labels: string[],
  measurements: Measurement[][],
  counts: InstructionCount[],
) {
  const same = (row: Row, id: number) =>
    rows.findIndex((other) => other.server.id === id && other.workload === row.workload && !other.before);
  return rows.map((row, index) => {
    const rounds = measurements[index]!;
    const floorId = row.server.floor && same(row, row.server.floor) !== -1 ? row.server.floor : FLOOR_ID;
    const floor = measurements[same(row, floorId)];
    const versus = row.server.versus === undefined ? undefined : measurements[same(row, row.server.versus)];
    const count = counts[index];
    const against = (id: number) => (count?.perRequest ?? NaN) / (counts[same(row, id)]?.perRequest ?? NaN);
    const figures = Object.keys(rounds[0]!.figures) as (keyof Figures)[];
    return {
      label: labels[index]!,
      library: row.server.library,
      median: Object.fromEntries(
        figures.map((f) => [f, median(rounds.map((r) => r.figures[f]))]),
      ) as unknown as Figures,
      toFloor: floor
        ? {
            id: floorId,
            reqPerSec: ratio(rounds, floor, 'reqPerSec'),
            cpuUsPerRequest: ratio(rounds, floor, 'cpuUsPerRequest'),
          }
        : null,
      // Against what it is an alternative to (another store, the same middleware uncached), round by round.
      versus: versus
        ? {
            id: row.server.versus!,
            reqPerSec: ratio(rounds, versus, 'reqPerSec'),
            cpuUsPerRequest: ratio(rounds, versus, 'cpuUsPerRequest'),
          }
        : null,
      rounds,
      // Not every response a 2xx: then the server did not do what it is measured for.
      warnings: rounds
        .flatMap(({ statusCounts, errors }, round) =>
          Object.keys(statusCounts).some((code) => !code.startsWith('2')) || errors > 0
            ? [`round ${round + 1}: responses ${JSON.stringify(statusCounts)}, ${errors} errors or timeouts`]
            : [],
        )
        .concat(
          count?.failed ? [`${count.failed} responses not 2xx while its instructions were counted`] : [],
        ),
      instructions: count
        ? { ...count, toFloorMiddleware: against(FLOOR_MIDDLEWARE_ID), toFloor: against(FLOOR_ID) }
        : null,
    };
  });
}

export type RowResult = ReturnType<typeof summarize>[number];

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const whole = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–');
const spread = (r: Ratio | undefined) =>
  r ? `${fixed(r.median, 2)}× (${fixed(r.lowest, 2)}–${fixed(r.highest, 2)})` : '–';

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

// A row whose store has a floor of its own (PostgreSQL's, server 10) names it beside its ratios.
const ownFloor = (id: number | undefined) => (id === undefined || id === FLOOR_ID ? '' : ` × ${id}`);

export function timedTable(results: RowResult[], store: string): string {
  return table(
    ['server', 'req/s', '× floor', 'CPU µs/req', '× floor', `${store} commands/req`, 'req/s, CPU × server'],
    results.map(({ label, median: m, toFloor, versus: v }) => [
      label,
      whole(m.reqPerSec),
      spread(toFloor?.reqPerSec) + ownFloor(toFloor?.id),
      fixed(m.cpuUsPerRequest, 1),
      spread(toFloor?.cpuUsPerRequest) + ownFloor(toFloor?.id),
      fixed(m.storeCallsPerRequest, 3),
      v ? `${spread(v.reqPerSec)}, ${spread(v.cpuUsPerRequest)} × ${v.id}` : '–',
    ]),
  );
}

export function instructionTable(results: RowResult[]): string {
  const spreadOf = (windows: number[], mean: number) => (Math.max(...windows) - Math.min(...windows)) / mean;
  return table(
    ['server', 'instructions/req', '× floor middleware (9)', '× floor (2)', 'windows (max − min) / mean'],
    results.flatMap(({ label, instructions: i }) =>
      i
        ? [
            [
              label,
              whole(i.perRequest),
              `${fixed(i.toFloorMiddleware, 3)}×`,
              `${fixed(i.toFloor, 2)}×`,
              `${fixed(spreadOf(i.windows, i.perRequest) * 100, 1)}%`,
            ],
          ]
        : [],
    ),
  );
}

/** The library rows' instructions per request against the floor as a middleware's: what the library is held to. */
export function headline(results: RowResult[]): string[] {
  return results.flatMap(({ label, library, instructions: i }) =>
    library && i
      ? [`${label}: ${fixed(i.toFloorMiddleware, 3)}× the instructions per request of server 9`]
      : [],
  );
}
