// The load generator process (started by bench/load.ts): autocannon's programmatic API, one load at
// a time, each request with an Authorization header drawn at random from a pool of many distinct
// ones (every seeded token, up to 1,000,000), so no server or Redis can get by on a handful of hot
// keys. Latencies are kept per response at full resolution for the percentiles.
import autocannon from 'autocannon';
import { badBasicHeaders, badBearerHeaders } from './bad-tokens';
import { type Credential, readCredentials, readLines } from './credentials';
import { ROUTE } from './keys';
import type { LoadFiles, LoadKind, LoadMessage, LoadRequest, LoadResult, TokenPool } from './load';

const BAD_HEADERS = 10_000;

const credentialsByPool = new Map<TokenPool, Credential[]>();
const pools = new Map<string, string[]>();

function pool(kind: LoadKind, from: TokenPool): string[] {
  let headers = pools.get(`${from}:${kind}`);
  if (headers) return headers;
  const credentials = credentialsByPool.get(from);
  if (!credentials) throw new Error(`no ${from} tokens were seeded`);
  switch (kind) {
    case 'bearer':
      headers = credentials.map(({ token }) => `Bearer ${token}`);
      break;
    case 'basic':
      headers = credentials.map(
        ({ login, token }) => `Basic ${Buffer.from(`${login}:${token}`).toString('base64')}`,
      );
      break;
    case 'jwt':
      throw new Error('the JWT pool is loaded at start');
    case 'bad-bearer':
      headers = badBearerHeaders(credentials, Math.min(BAD_HEADERS, credentials.length * 6));
      break;
    case 'bad-basic':
      headers = badBasicHeaders(credentials, Math.min(BAD_HEADERS, credentials.length * 6));
      break;
  }
  pools.set(`${from}:${kind}`, headers);
  return headers;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function runLoad(request: LoadRequest): Promise<LoadResult> {
  const headers = pool(request.kind, request.pool);
  let latencies = new Float64Array(1 << 18);
  let count = 0;
  const cpuBefore = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: request.url,
        connections: request.connections,
        ...(request.amount ? { amount: request.amount } : { duration: request.durationSec }),
        pipelining: 1,
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
      },
      (error, result) => {
        if (error) return reject(error);
        const cpu = process.cpuUsage(cpuBefore);
        const sorted = latencies.subarray(0, count).sort();
        const statusCounts: Record<string, number> = {};
        for (const [code, { count: n }] of Object.entries(result.statusCodeStats)) statusCounts[code] = n;
        resolve({
          requests: result.requests.total,
          durationSec: result.duration,
          reqPerSec: result.requests.total / result.duration,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
          statusCounts,
          errors: result.errors,
          timeouts: result.timeouts,
          distinctHeaders: headers.length,
          cpuUsPerRequest: count > 0 ? (cpu.user + cpu.system) / count : Number.NaN,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, ms) => {
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = ms;
    });
  });
}

async function main(): Promise<void> {
  const files = JSON.parse(process.argv[2] ?? 'null') as LoadFiles | null;
  if (!files) throw new Error('usage: load-generator.ts <JSON of LoadFiles> (started by bench/load.ts)');
  credentialsByPool.set('main', await readCredentials(files.credentials));
  if (files.scaleCredentials) credentialsByPool.set('scale', await readCredentials(files.scaleCredentials));
  pools.set(
    'main:jwt',
    (await readLines(files.jwts)).map((jwt) => `Bearer ${jwt}`),
  );
  const send = (message: LoadMessage) => process.send?.(message);
  process.on('message', (request: LoadRequest) => {
    runLoad(request).then(
      (result) => send({ type: 'result', seq: request.seq, result }),
      (error: Error) => send({ type: 'error', seq: request.seq, message: error.message }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
