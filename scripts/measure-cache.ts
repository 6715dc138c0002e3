// Measures the token cache against the floor (one raw GET) and the uncached middleware, in one run,
// on a redis-server of its own: req/s and Redis commands per request for two workloads.
// - hot: 10,000 tokens (hard limit), each used again and again; the cache is warmed first.
// - cold: COLD_TOKENS (default 1,000,000) tokens picked at random; 10,000 cache entries.
// Usage: npx tsx --conditions=personal-token-auth-source scripts/measure-cache.ts [seconds per load]
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { encodeToken } from '../adapters/redis-record';
import { RAW_KEY_PREFIX, ROUTE } from '../bench/keys';
import type { ServerMessage, ServerStats } from '../bench/servers/serve';
import type { StoredToken } from '../lib/store';
import { generateToken } from '../lib/token-format';
import { startRedis } from '../test/support/redis-servers';

const SECONDS = Number(process.argv[2] ?? 10);
const HOT = 10_000;
const COLD = Number(process.env.COLD_TOKENS ?? 1_000_000);
const CONNECTIONS = 32;
const YEAR = 365 * 86_400_000;

interface Server {
  name: string;
  port: number;
  child: ChildProcess;
  stats(): Promise<ServerStats>;
}

async function startServer(
  name: string,
  file: string,
  redisUrl: string,
  env: Record<string, string> = {},
): Promise<Server> {
  const child = fork(join(__dirname, '..', 'bench', 'servers', file), [], {
    execArgv: ['--import', 'tsx', '--conditions=personal-token-auth-source'],
    env: { ...process.env, NODE_ENV: 'production', REDIS_URL: redisUrl, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let seq = 0;
  const waiting = new Map<number, (stats: ServerStats) => void>();
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', () => reject(new Error(`${name} exited`)));
    child.on('message', (message: ServerMessage) => {
      if (message.type === 'ready') resolve(message.port);
      if (message.type === 'stats') waiting.get(message.seq)?.(message.stats);
    });
  });
  const stats = () =>
    new Promise<ServerStats>((resolve) => {
      waiting.set(++seq, resolve);
      child.send({ type: 'stats', seq });
    });
  return { name, port, child, stats };
}

/** Tokens written straight into the store's keys (as `create` writes them), pipelined: fast enough for a million. */
async function seed(client: Redis, count: number, raw: boolean): Promise<string[]> {
  const now = Date.now();
  const tokens: string[] = [];
  for (let start = 0; start < count; start += 5000) {
    const pipeline = client.pipeline();
    for (let i = start; i < Math.min(count, start + 5000); i++) {
      const terms = { scopes: [], hardExpiresAt: now + YEAR, autoRefresh: null };
      const { token, id, secretHash } = generateToken('pat_', terms);
      const record: StoredToken = {
        ...terms,
        id,
        secretHash,
        user: `user${i % 1000}`,
        label: null,
        createdAt: now,
        expiresAt: now + YEAR,
        lastUsedAt: null,
        lastUsedIp: null,
      };
      pipeline.set(`pat:t:{${id}}`, encodeToken(record), 'PXAT', now + YEAR);
      if (raw) pipeline.set(RAW_KEY_PREFIX + token, record.user);
      tokens.push(token);
    }
    await pipeline.exec();
  }
  return tokens;
}

type LoadOptions = Parameters<typeof autocannon>[0];
type LoadResult = Parameters<Parameters<typeof autocannon>[1]>[1];

function run(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) =>
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

/** Each token once, in order: the cache (and every token's first use) in place before measuring. */
async function warm(server: Server, tokens: string[]): Promise<void> {
  let next = 0;
  await run({
    url: `http://127.0.0.1:${server.port}`,
    connections: CONNECTIONS,
    amount: tokens.length,
    requests: [
      {
        method: 'GET',
        path: ROUTE,
        setupRequest(req) {
          req.headers.authorization = `Bearer ${tokens[next++ % tokens.length]}`;
          return req;
        },
      },
    ],
  });
}

async function load(server: Server, tokens: string[], seconds: number) {
  const headers = tokens.map((token) => `Bearer ${token}`);
  const before = await server.stats();
  const result = await run({
    url: `http://127.0.0.1:${server.port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        path: ROUTE,
        setupRequest(req) {
          req.headers.authorization = headers[(Math.random() * headers.length) | 0]!;
          return req;
        },
      },
    ],
  });
  const after = await server.stats();
  const requests = after.requests - before.requests;
  const ok = result['2xx'];
  if (ok !== result.requests.total)
    throw new Error(`${server.name}: ${result.requests.total - ok} requests failed`);
  const cpuUs = after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs;
  return {
    reqPerSec: result.requests.total / result.duration,
    commandsPerRequest: (after.redisCommands - before.redisCommands) / requests,
    // The server's own CPU per request: steadier than req/s on a machine busy with other work.
    cpuUsPerRequest: cpuUs / requests,
  };
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const client = new Redis(redis.url);
  const servers: Server[] = [];
  try {
    const hot = await seed(client, HOT, true);
    const cold = await seed(client, COLD, false);
    console.log(
      `seeded ${hot.length} hot and ${cold.length} cold tokens; ${SECONDS} s per load, ${CONNECTIONS} connections`,
    );
    const floor = await startServer('floor (raw GET)', 'raw-redis-get.ts', redis.url);
    const uncached = await startServer('uncached', 'personal-token-auth.ts', redis.url);
    const cached = await startServer('cached', 'personal-token-auth-cached.ts', redis.url);
    // The same with lastUsedAt written every 5 min: each entry then lives maxStale (5 min) in full.
    const cachedLong = await startServer('cached, 5 min', 'personal-token-auth-cached.ts', redis.url, {
      CACHE_MAX_STALE: '5m',
      TOUCH_INTERVAL: '300000',
    });
    servers.push(floor, uncached, cached, cachedLong);
    // Warm-up: every server's JIT, every hot token's first use, and the caches filled with them.
    for (const server of servers) await warm(server, hot);
    const rows: string[] = [];
    for (const round of [1, 2]) {
      const f = await load(floor, hot, SECONDS);
      const u = await load(uncached, hot, SECONDS);
      const c = await load(cached, hot, SECONDS);
      const cl = await load(cachedLong, hot, SECONDS);
      const uc = await load(uncached, cold, SECONDS);
      const cc = await load(cached, cold, SECONDS);
      type Figures = Awaited<ReturnType<typeof load>>;
      const line = (name: string, r: Figures, base: Figures) =>
        `round ${round} ${name.padEnd(22)} ${r.reqPerSec.toFixed(0).padStart(7)} req/s ${(r.reqPerSec / base.reqPerSec).toFixed(3)}x  ` +
        `${r.cpuUsPerRequest.toFixed(1).padStart(6)} CPU µs/request ${(r.cpuUsPerRequest / base.cpuUsPerRequest).toFixed(3)}x  ` +
        `${r.commandsPerRequest.toFixed(4)} commands/request`;
      rows.push(
        line('hot floor', f, f),
        line('hot uncached', u, f),
        line('hot cached', c, f),
        line('hot cached 5 min', cl, f),
        line('cold uncached', uc, uc),
        line('cold cached (vs unc.)', cc, uc),
      );
      console.log(rows.slice(-6).join('\n'));
    }
  } finally {
    for (const server of servers) server.child.send({ type: 'shutdown' });
    client.disconnect();
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
