// What forward auth costs behind nginx: the same requests through nginx with the docs' auth_request
// config (sub-request to `personal-token serve-auth` on the local Redis) and through nginx proxying
// directly, to the same static upstream (nginx itself). Sides alternate, each round runs both; the
// report gives req/s and latency of each side and their ratio.
//
//   npm run bench:forward-auth [-- --quick] [-- --duration 10 --connections 20 --rounds 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { RedisTokenStore } from '../adapters/redis';
import { TokenService } from '../lib/index';
import { connectTestRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from '../test/support/redis';
import {
  freePort,
  type OwnedServer,
  startNginx,
  startNginxWith,
  startServeAuth,
} from '../test/support/reverse-proxy';

interface Side {
  requestsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string' },
  },
});
const quick = values.quick === true;
const duration = Number(values.duration ?? (quick ? 3 : 10));
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const connections = Number(values.connections);
for (const [name, value] of Object.entries({ duration, rounds, connections })) {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`--${name} must be a whole number ≥ 1`);
}

function load(url: string, headers: Record<string, string>, seconds: number): Promise<Side> {
  const { origin, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: origin,
        connections,
        duration: seconds,
        requests: [{ method: 'GET', path: pathname, headers }],
      },
      (error, result) => {
        if (error) return reject(error);
        const bad = result.non2xx + result.errors + result.timeouts;
        resolve({
          requestsPerSec: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          errors: bad,
        });
      },
    );
  });
}

const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;

async function main(): Promise<void> {
  const prefix = uniquePrefix('bench-forward-auth');
  const redis = connectTestRedis();
  const tokens = new TokenService({ store: new RedisTokenStore(redis, { prefix }) });
  const cwd = mkdtempSync(join(tmpdir(), 'bench-forward-auth-'));
  const servers: OwnedServer[] = [];
  try {
    const staticPort = await freePort();
    const upstream = await startNginxWith(
      `server { listen 127.0.0.1:${staticPort}; location / { return 200 "ok\\n"; } }`,
      staticPort,
    );
    servers.push(upstream);
    const directPort = await freePort();
    const direct = await startNginxWith(
      `upstream backend { server 127.0.0.1:${staticPort}; keepalive 16; }
       server {
         listen 127.0.0.1:${directPort};
         location / {
           proxy_http_version 1.1;
           proxy_set_header Connection "";
           proxy_pass http://backend;
         }
       }`,
      directPort,
    );
    servers.push(direct);
    const auth = await startServeAuth(['--redis', TEST_REDIS_URL, '--prefix', prefix], cwd);
    servers.push(auth);
    const withAuth = await startNginx({ auth: auth.port, upstream: staticPort });
    servers.push(withAuth);
    const { token } = await tokens.issue({ user: 'bench', expiresIn: '1h' });
    const bearer = { authorization: `Bearer ${token}` };
    // The sub-request as nginx sends it, straight to serve-auth: the auth server's own share.
    const subRequest = { ...bearer, 'x-original-method': 'GET', 'x-original-uri': '/x' };

    // Warm up both paths (connections, JIT) before anything is measured.
    await load(`${direct.url}/x`, {}, 1);
    await load(`${withAuth.url}/x`, bearer, 1);
    const directSides: Side[] = [];
    const authSides: Side[] = [];
    const serveAuthSides: Side[] = [];
    for (let round = 0; round < rounds; round++) {
      directSides.push(await load(`${direct.url}/x`, {}, duration));
      authSides.push(await load(`${withAuth.url}/x`, bearer, duration));
      serveAuthSides.push(await load(`${auth.url}/auth`, subRequest, duration));
    }
    const summary = (sides: Side[]) => ({
      requestsPerSec: median(sides.map((side) => side.requestsPerSec)),
      p50: median(sides.map((side) => side.p50)),
      p99: median(sides.map((side) => side.p99)),
      errors: sides.reduce((sum, side) => sum + side.errors, 0),
    });
    const a = summary(directSides);
    const b = summary(authSides);
    const row = (name: string, side: Side) =>
      `| ${name} | ${Math.round(side.requestsPerSec)} | ${side.p50} | ${side.p99} | ${side.errors} |`;
    console.log(
      [
        `forward auth behind nginx: ${rounds} round(s) of ${duration} s per side, ${connections} connections`,
        '',
        '| nginx | req/s | p50 ms | p99 ms | non-2xx/errors |',
        '| --- | ---: | ---: | ---: | ---: |',
        row('proxying directly', a),
        row('auth_request → serve-auth (Redis)', b),
        row('(serve-auth alone, the sub-request sent directly)', summary(serveAuthSides)),
        '',
        `ratio with/without auth: req/s ${(b.requestsPerSec / a.requestsPerSec).toFixed(2)}, ` +
          `p50 latency ${(b.p50 / Math.max(a.p50, 0.001)).toFixed(1)}×, p99 latency ${(b.p99 / Math.max(a.p99, 0.001)).toFixed(1)}×`,
        'Median of the rounds; on a shared machine the figures move with the other tenants.',
      ].join('\n'),
    );
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await deleteKeys(redis, prefix);
    redis.disconnect();
    rmSync(cwd, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
