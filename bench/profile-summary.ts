// Summarises V8 CPU profiles written by `npm run bench -- --profile <dir>`: where a server's CPU
// time goes, by package and by function, in µs per request when the request count is given, and
// side by side for two servers (say the floor and the library), so that a gap can be pinned on code
// rather than guessed at.
//
//   npx tsx bench/profile-summary.ts <a.cpuprofile>[=requests] [<b.cpuprofile>[=requests]] [--top N] [--match text]
//
// The request counts are printed by the bench at the end of a --profile run. Self time: spent in
// the function itself; inclusive: in it and everything it called (each sample counted once).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface Summary {
  label: string;
  /** Divide µs by this: the request count, or the busy time in % units when there is none. */
  divisor: number;
  unit: string;
  busyUs: number;
  selfByBucket: Map<string, number>;
  selfByFunction: Map<string, number>;
  inclusive: Map<string, number>;
}

/** Which package (or file of this repo, or part of Node) a script belongs to. */
function bucketOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  for (const part of ['/lib/', '/adapters/', '/bench/servers/', '/bench/']) {
    const at = url.lastIndexOf(part);
    if (at >= 0) return `${part.slice(1)}${basename(url)}`;
  }
  return url;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? ` ${bucketOf(url, functionName)}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${where}`;
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

function summarize(argument: string): Summary {
  const [file, requestsText] = argument.split('=');
  const profile = JSON.parse(readFileSync(file!, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const summary: Summary = {
    label: basename(file!),
    divisor: 1,
    unit: '',
    busyUs: 0,
    selfByBucket: new Map(),
    selfByFunction: new Map(),
    inclusive: new Map(),
  };
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') return;
    summary.busyUs += delta;
    add(summary.selfByFunction, frameName(node), delta);
    add(summary.selfByBucket, bucketOf(node.callFrame.url, node.callFrame.functionName), delta);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = frameName(byId.get(at)!);
      if (seen.has(frame)) continue;
      seen.add(frame);
      add(summary.inclusive, frame, delta);
    }
  });
  const requests = Number(requestsText);
  if (requestsText && Number.isFinite(requests) && requests > 0) {
    summary.divisor = requests;
    summary.unit = 'µs/req';
  } else {
    summary.divisor = summary.busyUs / 100;
    summary.unit = '% busy';
  }
  return summary;
}

function printTable(
  title: string,
  summaries: Summary[],
  pick: (s: Summary) => Map<string, number>,
  top: number,
  match?: string,
) {
  const keys = new Set(summaries.flatMap((summary) => [...pick(summary).keys()]));
  const rows = [...keys]
    .filter((key) => !match || key.includes(match))
    .map((key) => ({
      key,
      values: summaries.map((summary) => (pick(summary).get(key) ?? 0) / summary.divisor),
    }));
  // One profile: biggest first. Two: biggest difference first (what the second spends more on).
  const weight = (values: number[]) => (values.length === 2 ? Math.abs(values[1]! - values[0]!) : values[0]!);
  rows.sort((a, b) => weight(b.values) - weight(a.values));
  console.log(title);
  for (const { key, values } of rows.slice(0, top)) {
    const cells = values.map((value) => value.toFixed(1).padStart(8));
    if (values.length === 2) {
      const diff = values[1]! - values[0]!;
      cells.push(`${diff >= 0 ? '+' : ''}${diff.toFixed(1)}`.padStart(8));
    }
    console.log(`  ${cells.join(' ')}  ${key}`);
  }
}

function main(): void {
  const args = process.argv.slice(2);
  let top = 25;
  let match: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else if (args[i] === '--match') match = args[++i];
    else files.push(args[i]!);
  }
  if (files.length < 1 || files.length > 2) {
    throw new Error(
      'usage: profile-summary.ts <a.cpuprofile>[=requests] [<b.cpuprofile>[=requests]] [--top N] [--match text]',
    );
  }
  const summaries = files.map(summarize);
  for (const [index, summary] of summaries.entries()) {
    const perRequest =
      summary.unit === 'µs/req' ? `, ${(summary.busyUs / summary.divisor).toFixed(1)} µs/req` : '';
    console.log(
      `${index === 0 ? 'A' : 'B'}: ${summary.label}: ${(summary.busyUs / 1e6).toFixed(2)} s busy${perRequest}`,
    );
  }
  const units = [...new Set(summaries.map((summary) => summary.unit))].join(' / ');
  const columns = summaries.length === 2 ? `${units}: A, B, B-A` : units;
  printTable(`self time by package or file (${columns}):`, summaries, (s) => s.selfByBucket, top, match);
  printTable(`self time by function (${columns}):`, summaries, (s) => s.selfByFunction, top, match);
  printTable(`inclusive time by function (${columns}):`, summaries, (s) => s.inclusive, top, match);
}

main();
