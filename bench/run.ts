// `npm run bench`: starts the stores the chosen servers need, seeds them through the library, starts
// every server as its own process, loads them in interleaved rounds (1 2 3 4 9, 1 2 3 ...) and reports
// medians and ratios within the run, as Markdown tables and as JSON (--out). See bench/README.md.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeOnExit } from '../test/support/owned-processes';
import { callgrindAvailable, countInstructions, PLAN, QUICK_PLAN } from './instructions';
import type { LoadRequest } from './load';
import { type Measurement, measure } from './measure';
import { parseOptions } from './options';
import { headline, instructionTable, NOISE_NOTE, summarize, timedTable } from './report';
import { seed } from './seed';
import { type Row, rowLabel, type TokenKind } from './server-list';
import { type ServerProcess, startServer } from './server-process';
import { type RunningStore, STORES, type StoreName } from './stores';

const log = (line = '') => console.log(line);

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  if (options.instructions && !(await callgrindAvailable())) {
    console.error(
      'bench: --instructions needs valgrind and callgrind_control (Debian: apt-get install valgrind)',
    );
    process.exit(2);
  }
  const startedAt = Date.now();
  const rows: Row[] = options.workloads.flatMap((workload) =>
    options.servers.flatMap((server) =>
      [false, true]
        .filter((before) => !before || (options.compare && server.library))
        .map((before) => ({ server, workload, before })),
    ),
  );
  const labels = rows.map((row) => rowLabel(row, options.workloads.length));
  log(
    `personal-token-auth benchmark${options.quick ? ' (--quick: rough figures)' : ''}: ${options.rounds} rounds × ` +
      `${options.durationSec} s per server, ${options.connections} connections; node ${process.version}`,
  );
  log(NOISE_NOTE);

  const tempDir = removeOnExit(mkdtempSync(join(tmpdir(), 'pat-bench-')));
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    // A server without a store is loaded with the tokens of the default one.
    const storeOf = (row: Row): StoreName => row.server.store ?? 'redis';
    const kindOf = (row: Row): TokenKind => row.server.tokens ?? 'sliding';
    const fileOf = (row: Row) =>
      join(tempDir, `${storeOf(row)}-${row.before ? 'before' : 'this'}-${kindOf(row)}.tsv`);
    const stores = new Map<StoreName, RunningStore>();
    for (const name of new Set(rows.map(storeOf))) {
      const store = await STORES[name]();
      cleanups.push(() => store.stop());
      stores.set(name, store);
    }
    // One seeding per store, code (this checkout's, --compare's) and kind of token, as many tokens as
    // its largest workload needs.
    for (const file of new Set(rows.map(fileOf))) {
      const seeded = rows.filter((row) => fileOf(row) === file);
      const { before } = seeded[0]!;
      const [store, kind] = [stores.get(storeOf(seeded[0]!))!, kindOf(seeded[0]!)];
      const count = Math.max(...seeded.map((row) => row.workload.tokens));
      const started = Date.now();
      const checkout = before ? options.compare! : join(__dirname, '..');
      const issued = await seed(store, createRequire(join(checkout, 'package.json')), { count, kind, file });
      // The floor's keys: the same token texts, for the floor's own rows.
      if (seeded.some((row) => !row.server.library)) await store.writeLogins?.(issued);
      const seconds = (Date.now() - started) / 1000;
      log(
        `seeded ${count} ${kind} tokens into ${store.name}${before ? ' (before)' : ''} in ${seconds.toFixed(0)} s`,
      );
    }

    const start = (row: Row, launcher?: string[]) =>
      startServer(
        row.server.file,
        { ...stores.get(storeOf(row))!.env, ...(row.before ? { BENCH_LIBRARY_DIR: options.compare! } : {}) },
        launcher,
      );
    const request = (row: Row, url: string, durationSec: number): LoadRequest => ({
      url,
      kind: row.server.load,
      credentials: fileOf(row),
      tokens: row.workload.tokens,
      headers: row.server.headers,
      connections: options.connections,
      durationSec,
    });
    // One at a time: a dozen Node processes compiling TypeScript at once on a small machine outlast their deadline.
    const servers: ServerProcess[] = [];
    for (const row of rows) {
      servers.push(await start(row));
      cleanups.push(servers.at(-1)!.stop);
    }

    log(`warming up (${options.warmupSec} s per server) ...`);
    for (const [index, row] of rows.entries()) {
      const warmup = request(row, servers[index]!.url, options.warmupSec);
      // Each token checked once first, as in an app whose tokens are in use: a token's first check
      // writes its lastUsedAt (then once per touchInterval), and a cache fills with what it holds.
      if (row.server.library)
        await measure(servers[index]!, null, {
          ...warmup,
          amount: Math.min(row.workload.tokens, 10_000),
          inOrder: true,
        });
      await measure(servers[index]!, null, warmup);
    }
    const measurements: Measurement[][] = rows.map(() => []);
    for (let round = 1; round <= options.rounds; round++) {
      for (const [index, row] of rows.entries()) {
        const store = row.server.store ? stores.get(row.server.store)! : null;
        measurements[index]!.push(
          await measure(servers[index]!, store, request(row, servers[index]!.url, options.durationSec)),
        );
      }
      const line = measurements.map((done) => Math.round(done[round - 1]!.figures.reqPerSec)).join(' ');
      log(`round ${round}/${options.rounds}, req/s in the order of the table: ${line}`);
    }
    await Promise.all(servers.map((server) => server.stop()));

    const plan = options.quick ? QUICK_PLAN : PLAN;
    const instructions = options.instructions
      ? await countInstructions(rows, {
          start,
          request: (row, url) => request(row, url, 0),
          dir: join(tempDir, 'callgrind'),
          plan,
          log: (row, perRequest) =>
            log(`instructions/request, ${labels[rows.indexOf(row)]}: ${Math.round(perRequest)}`),
        })
      : [];

    const results = summarize(rows, labels, measurements, instructions);
    log();
    for (const line of headline(results)) log(`HEADLINE ${line}`);
    log(
      `\nMedians of ${options.rounds} rounds; × floor: to server 2 in the same round (× 10: to server 10, ` +
        'the PostgreSQL floor), median (lowest–highest)',
    );
    log(timedTable(results, [...stores.values()].map((store) => store.name).join('/')));
    if (options.instructions) log(`\n${instructionTable(results)}`);
    for (const { label, warnings } of results)
      for (const warning of warnings) log(`WARNING ${label}: ${warning}`);

    const json = {
      generatedAt: new Date().toISOString(),
      note: NOISE_NOTE,
      node: process.version,
      stores: Object.fromEntries([...stores].map(([name, store]) => [name, store.version])),
      cpus: `${cpus().length} × ${cpus()[0]?.model}, load average ${loadavg()[0]} at the start`,
      options: { ...options, servers: options.servers.map((server) => server.id) },
      instructionPlan: options.instructions ? plan : null,
      rows: results,
      durationSec: Math.round((Date.now() - startedAt) / 1000),
    };
    writeFileSync(options.out, `${JSON.stringify(json, null, 2)}\n`);
    log(`\nResults written to ${options.out} (${json.durationSec} s).`);
  } finally {
    for (const step of cleanups.reverse()) await step().catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
