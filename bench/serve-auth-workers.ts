// `personal-token serve-auth --workers 1` against `--workers 2`, each behind its own nginx configured
// with the very block of docs/forward-auth.md, loaded in interleaved rounds (1 2 1 2 ...) with the same
// load: what a second worker gains through a real proxy. Both run at once on their own ports, on one
// Redis of the run's own, seeded through the library; the upstream only echoes. Usage:
//   npx tsx --conditions=personal-token-auth-source bench/serve-auth-workers.ts [--rounds 8] [--duration 3]
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ownedTempDir } from '../test/support/owned-processes';
import { type OwnedServer, startEchoServer, startNginx, startServeAuth } from '../test/support/reverse-proxy';
import { runLoad } from './load';
import { NOISE_NOTE } from './report';
import { seed } from './seed';
import { STORES } from './stores';

const TOKENS = 10_000;
const WORKERS = [1, 2];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '8' },
      duration: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '50' },
    },
  });
  const [rounds, durationSec, warmupSec, connections] = [
    values.rounds,
    values.duration,
    values.warmup,
    values.connections,
  ].map(Number) as [number, number, number, number];
  console.log(
    `serve-auth --workers ${WORKERS.join(' vs ')} through nginx: ${rounds} rounds × ${durationSec} s, ` +
      `${connections} connections, ${TOKENS} tokens; node ${process.version}\n${NOISE_NOTE}`,
  );
  const dir = ownedTempDir('bench-workers');
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const redis = await STORES.redis();
    stops.push(() => redis.stop());
    const credentials = join(dir, 'tokens.tsv');
    await seed(redis, createRequire(join(__dirname, '..', 'package.json')), {
      count: TOKENS,
      kind: 'sliding',
      file: credentials,
    });
    const echo = await startEchoServer();
    stops.push(() => echo.close());
    const proxies: OwnedServer[] = [];
    for (const workers of WORKERS) {
      const auth = await startServeAuth(['--redis', redis.env.REDIS_URL!], dir, undefined, [
        '--workers',
        String(workers),
      ]);
      stops.push(() => auth.stop());
      const nginx = await startNginx({ auth: auth.port, upstream: echo.port });
      stops.push(() => nginx.stop());
      proxies.push(nginx);
    }
    const load = (proxy: OwnedServer, seconds: number) =>
      runLoad({
        url: proxy.url,
        kind: 'bearer',
        credentials,
        tokens: TOKENS,
        connections,
        durationSec: seconds,
      });
    // Every token checked once first (its first check writes lastUsedAt), then the warm-up proper.
    for (const proxy of proxies) {
      await runLoad({
        url: proxy.url,
        kind: 'bearer',
        credentials,
        tokens: TOKENS,
        connections,
        durationSec: 0,
        amount: TOKENS,
        inOrder: true,
      });
      await load(proxy, warmupSec);
    }
    const perRound: number[][] = WORKERS.map(() => []);
    for (let round = 1; round <= rounds; round++) {
      for (const [index, proxy] of proxies.entries()) {
        const { reqPerSec, statusCounts, errors } = await load(proxy, durationSec);
        const refused = Object.entries(statusCounts).filter(([code]) => !code.startsWith('2'));
        if (refused.length > 0 || errors > 0)
          console.log(`WARNING workers ${WORKERS[index]}: ${JSON.stringify(statusCounts)}, ${errors} errors`);
        perRound[index]!.push(reqPerSec);
      }
      console.log(`round ${round}/${rounds}, req/s: ${perRound.map((r) => Math.round(r.at(-1)!)).join(' ')}`);
    }
    const ratios = perRound[1]!.map((reqPerSec, round) => reqPerSec / perRound[0]![round]!);
    console.log('\n| serve-auth | req/s through nginx | × --workers 1 |\n| --- | ---: | ---: |');
    for (const [index, workers] of WORKERS.entries()) {
      const ratio =
        index === 0
          ? '1.00×'
          : `${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
      console.log(`| --workers ${workers} | ${Math.round(median(perRound[index]!))} | ${ratio} |`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
