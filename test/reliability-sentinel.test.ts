// The Redis store behind Redis Sentinel (1 master, 1 replica, 3 sentinels on loopback ports): the
// middleware through ioredis' sentinel connection, and a failover under load.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis, RedisOptions } from 'ioredis';
import { RedisTokenStore } from '../adapters/redis';
import { personalTokenAuth, TokenService } from '../lib/index';
import { type AuthServer, startAuthServer } from './support/auth-server';
import { assertFailoverVerdict, issuePopulation, loadThroughFault } from './support/failover-load';
import { basic, bearer, httpGet } from './support/http-load';
import { type SentinelHandle, startSentinel } from './support/redis-sentinel';

const TIMEOUT_MS = 1000;
const MARGIN_MS = 750;

/** The sentinel client options the README recommends for an authentication path. */
const SENTINEL_OPTIONS: RedisOptions = {
  commandTimeout: TIMEOUT_MS,
  connectTimeout: TIMEOUT_MS,
  socketTimeout: TIMEOUT_MS,
  maxRetriesPerRequest: 0,
  retryStrategy: (attempt) => Math.min(100 * attempt, 500),
  // Reconnect as soon as the sentinels announce a new master (+switch-master), not at the next error.
  failoverDetector: true,
};

describe('personalTokenAuth() through ioredis with Sentinel', () => {
  let sentinel: SentinelHandle;
  let client: Redis;
  let tokens: TokenService;
  let app: AuthServer;

  before(async () => {
    sentinel = await startSentinel();
    client = sentinel.client(SENTINEL_OPTIONS);
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    tokens = new TokenService({ store: new RedisTokenStore(client), timeout: TIMEOUT_MS });
    app = await startAuthServer(personalTokenAuth({ tokens }));
  });
  after(async () => {
    await app?.close();
    await sentinel?.stop();
  });

  test('Bearer and Basic pass, revoke works', async () => {
    const issued = await tokens.issue({ user: 'dave', autoRefresh: '10m' });
    assert.equal((await httpGet(`${app.url}/whoami`, bearer(issued.token))).status, 200);
    assert.equal((await httpGet(`${app.url}/whoami`, basic('dave', issued.token))).status, 200);
    assert.equal(await tokens.revoke(issued.id), true);
    assert.equal((await httpGet(`${app.url}/whoami`, bearer(issued.token))).status, 401);
  });

  test('the master killed under load: 503 during the failover, then live tokens pass, revoked stay out', {
    timeout: 60_000,
  }, async (t) => {
    const population = await issuePopulation(tokens, { live: 20, revoked: 10 });
    // failover() waits for the replica to have every write (revocations included) before the kill:
    // replication is asynchronous, see the README.
    const run = await loadThroughFault(`${app.url}/whoami`, population, async () => {
      await sentinel.failover();
    });
    const report = assertFailoverVerdict(run, {
      maxLatencyMs: TIMEOUT_MS + MARGIN_MS,
    });
    t.diagnostic(`sentinel failover: ${JSON.stringify(report)}`);
    assert.equal(await sentinel.masterPort(), sentinel.replica.port);

    for (const token of population.live) {
      assert.equal((await httpGet(`${app.url}/whoami`, bearer(token.token))).status, 200);
    }
    for (const token of population.revoked) {
      assert.equal((await httpGet(`${app.url}/whoami`, bearer(token.token))).status, 401);
    }
    // New tokens go to the new master.
    const fresh = await tokens.issue({ user: 'erin', expiresIn: '1h' });
    assert.equal((await httpGet(`${app.url}/whoami`, bearer(fresh.token))).status, 200);
  });
});
