// Does answering a well-formed token reveal whether its id exists? Unknown ids, revoked ids (a
// tombstone in Redis) and live ids with a wrong secret must look the same from outside: the same
// response, the same work in Redis (one lookup by id), and no timing difference worth the name.
// Wall-clock figures are reported, not asserted (a shared CI machine is too noisy for that); what is
// asserted is the identical response, the identical Redis work, and that the timing distributions
// overlap (each median inside the other's 10th-90th percentile range).
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { RedisTokenStore } from '../adapters/redis';
import { type IssuedToken, personalTokenAuth, TokenService } from '../lib/index';
import { checksum, generateToken } from '../lib/token-format';
import { type AuthServer, startAuthServer } from './support/auth-server';
import { bearer, httpGet } from './support/http-load';
import { type RedisServer, startRedis } from './support/redis-server';

const SAMPLES_PER_KIND = 1500;
const TERMS = { autoRefresh: null, hardExpiresAt: Date.now() + 3_600_000 };

/** A genuine token (its id is the hash of its secret and terms) that was never issued. */
function neverIssued(): string {
  return generateToken('pat_', TERMS).token;
}

/** A known id around another secret, with a valid checksum: forged, since the id does not match. */
function forgedAround(id: string): string {
  const body = `pat_${id}${neverIssued().slice(20, -6)}`;
  return body + checksum(body);
}

type Kind = 'unknown' | 'revoked' | 'wrongSecret';

/** Total calls per command from INFO commandstats, without the INFO calls themselves. */
async function commandCalls(client: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const match of (await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') calls[match[1]!] = Number(match[2]);
  }
  return calls;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

describe('unknown vs revoked vs wrong-secret tokens', () => {
  let redis: RedisServer;
  let tokens: TokenService;
  let app: AuthServer;
  let probe: Redis;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const tokenOf: Record<Kind, () => string> = {} as Record<Kind, () => string>;

  before(async () => {
    // A Redis of its own, so that INFO commandstats counts only this test's commands.
    redis = await startRedis();
    const client = redis.client();
    probe = redis.client();
    tokens = new TokenService({ store: new RedisTokenStore(client) });
    app = await startAuthServer(personalTokenAuth({ tokens }));
    const revoked: IssuedToken[] = [];
    const live: IssuedToken[] = [];
    for (let i = 0; i < 50; i++) {
      const token = await tokens.issue({ user: `user${i}`, expiresIn: '1h' });
      if (i % 2 === 0) {
        await tokens.revoke(token.id);
        revoked.push(token);
      } else {
        live.push(token);
      }
    }
    let n = 0;
    tokenOf.unknown = neverIssued;
    tokenOf.revoked = () => revoked[n++ % revoked.length]!.token;
    tokenOf.wrongSecret = () => forgedAround(live[n++ % live.length]!.id);
  });
  after(async () => {
    agent.destroy();
    await app?.close();
    await redis?.stop();
  });

  const ask = (token: string) => httpGet(`${app.url}/whoami`, bearer(token), { agent });

  test('the same response for each', async () => {
    const answers = await Promise.all(
      (['unknown', 'revoked', 'wrongSecret'] as const).map(async (kind) => {
        const { status, headers, body } = await ask(tokenOf[kind]());
        return { status, challenge: headers['www-authenticate'], body };
      }),
    );
    assert.equal(answers[0]!.status, 401);
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[2], answers[0]);
  });

  test('the same Redis work for unknown and revoked: one lookup by id; none for a forged one', async (t) => {
    const perKind: Record<string, Record<string, number>> = {};
    for (const kind of ['unknown', 'revoked', 'wrongSecret'] as const) {
      const before = await commandCalls(probe);
      for (let i = 0; i < 100; i++) assert.equal((await ask(tokenOf[kind]())).status, 401);
      const after = await commandCalls(probe);
      perKind[kind] = Object.fromEntries(
        Object.entries(after)
          .map(([command, calls]) => [command, (calls - (before[command] ?? 0)) / 100])
          .filter(([, perRequest]) => perRequest !== 0),
      );
    }
    t.diagnostic(`Redis commands per request: ${JSON.stringify(perKind)}`);
    // These tokens carry only a hard limit: the lookup is one GET, and as it finds no live record,
    // one script that reads the token's other two keys, a limited record and a tombstone (the
    // cost of any miss). The first call of a script loads it (EVAL): that is not per request.
    for (const calls of Object.values(perKind)) delete calls.eval;
    assert.deepEqual(perKind.unknown, { get: 3, evalsha: 1 }, JSON.stringify(perKind));
    assert.deepEqual(perKind.revoked, perKind.unknown, 'a revoked id costs exactly what an unknown one does');
    // A live id around another secret does not match its own id: refused before any lookup, the
    // same whether the id exists or not, so it tells nothing either.
    assert.deepEqual(perKind.wrongSecret, {}, JSON.stringify(perKind));
  });

  test(`response times, ${SAMPLES_PER_KIND} interleaved requests per kind (reported)`, async (t) => {
    const kinds: Kind[] = ['unknown', 'revoked', 'wrongSecret'];
    const times: Record<Kind, number[]> = { unknown: [], revoked: [], wrongSecret: [] };
    // Warm up (JIT, connections, script cache), then interleave kinds in random order so that
    // drift on the machine affects all of them alike.
    for (let i = 0; i < 200; i++) await ask(tokenOf[kinds[i % 3]!]());
    const order = kinds.flatMap((kind) => Array<Kind>(SAMPLES_PER_KIND).fill(kind));
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const kind of order) {
      const token = tokenOf[kind]();
      const start = process.hrtime.bigint();
      const { status } = await ask(token);
      times[kind].push(Number(process.hrtime.bigint() - start) / 1e6);
      assert.equal(status, 401);
    }
    const stats = Object.fromEntries(
      kinds.map((kind) => {
        const sorted = [...times[kind]].sort((a, b) => a - b);
        const round = (ms: number) => Math.round(ms * 1000) / 1000;
        return [
          kind,
          {
            p10: round(percentile(sorted, 0.1)),
            median: round(percentile(sorted, 0.5)),
            p90: round(percentile(sorted, 0.9)),
          },
        ];
      }),
    ) as Record<Kind, { p10: number; median: number; p90: number }>;
    t.diagnostic(`response times in ms: ${JSON.stringify(stats)}`);
    // Unknown and revoked ids are what an attacker would tell apart to learn which ids exist. A forged
    // token is refused before any lookup, faster, but alike whether its id exists or not.
    const lookedUp: Kind[] = ['unknown', 'revoked'];
    for (const a of lookedUp) {
      for (const b of lookedUp) {
        assert.ok(
          stats[a].median >= stats[b].p10 && stats[a].median <= stats[b].p90,
          `the ${a} median lies within the ${b} 10th-90th percentiles: ${JSON.stringify(stats)}`,
        );
      }
    }
  });
});
