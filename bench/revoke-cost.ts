// What a revocation costs with `durableRevocation` (the replica confirms it, WAIT) and without: the
// median and 95th percentile of N revokes one after another, against a master + replica of its own.
// Checks are not measured here: they never wait (see `npm run bench`).
//
//   npm run bench:revoke -- [--revokes 500]
import { performance } from 'node:perf_hooks';
import { RedisTokenStore, type RedisTokenStoreOptions } from '../adapters/redis';
import { TokenService } from '../lib/index';
import { replicateFrom, startRedis, stopAllRedis } from '../test/support/redis-servers';

const DEFAULT_REVOKES = 500;

function revokesWanted(argv: string[]): number {
  const at = argv.indexOf('--revokes');
  const count = at === -1 ? DEFAULT_REVOKES : Number(argv[at + 1]);
  if (!Number.isSafeInteger(count) || count < 1)
    throw new TypeError('--revokes needs a positive whole number');
  return count;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(tokens: TokenService, count: number): Promise<{ median: number; p95: number }> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push((await tokens.issue({ user: `bench${i % 10}`, expiresIn: '1h' })).id);
  const times: number[] = [];
  for (const id of ids) {
    const started = performance.now();
    await tokens.revoke(id);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { median: quantile(times, 0.5), p95: quantile(times, 0.95) };
}

async function main(): Promise<void> {
  const count = revokesWanted(process.argv.slice(2));
  const master = await startRedis();
  const replica = await startRedis();
  try {
    await replicateFrom(replica, master.port);
    const client = master.client();
    const run = (options: RedisTokenStoreOptions) =>
      measure(new TokenService({ store: new RedisTokenStore(client, options) }), count);
    // Each way twice, interleaved, the first round as a warm-up.
    await run({ durableRevocation: false });
    await run({});
    const without = await run({ durableRevocation: false });
    const confirmed = await run({});
    const ms = (value: number) => `${value.toFixed(3)} ms`;
    console.log(`revoke latency, ${count} revokes one after another, master + 1 replica on loopback:`);
    console.log(`  durableRevocation: false     median ${ms(without.median)}, p95 ${ms(without.p95)}`);
    console.log(`  durableRevocation (default)  median ${ms(confirmed.median)}, p95 ${ms(confirmed.p95)}`);
    client.disconnect();
  } finally {
    await stopAllRedis();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
