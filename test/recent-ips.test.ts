// A token's recent client IPs (trackIp), through the service: what `inspect` shows, the `new-ip`
// events, and how many writes they cost, counted at the Redis server (MONITOR) and on PostgreSQL's
// row versions. Every store gets an injected clock, so that the one-write-a-second rule is exact.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { RedisTokenStore } from '../adapters/redis';
import { planFlush } from '../lib/check/address-recorder';
import { PendingIps } from '../lib/check/pending-ips';
import { personalTokenAuth, type TokenEvent, TokenService, type TokenStore, tokenRouter } from '../lib/index';
import { makePostgresHarness, type PostgresHarness } from './support/postgres-harness';
import { type PostgresServer, startPostgres } from './support/postgres-server';
import { connectTestRedis, deleteKeys, uniquePrefix } from './support/redis';
import { monitorTestRedis } from './support/redis-monitor';

const IPS = ['203.0.113.1', '203.0.113.2', '2001:db8::3', '198.51.100.4', '203.0.113.5', '2001:db8::6'];

/** A service with trackIp on `store`, and the events it emitted. */
function tracking(store: TokenStore, options: { cache?: { maxStale: number } } = {}) {
  const events: TokenEvent[] = [];
  const tokens = new TokenService({
    store,
    trackIp: true,
    onEvent: (event) => {
      events.push(event);
    },
    ...options,
  });
  const newIps = () => events.filter((event) => event.type === 'new-ip');
  return { tokens, events, newIps };
}

/**
 * Lets the event loop run until `done` (a write a timer started, answered by the store: it comes in
 * an I/O turn), or, without `done`, for a few turns in which nothing should happen. No clock involved.
 */
async function settled(done?: () => boolean): Promise<void> {
  const turns = done === undefined ? 50 : 1_000_000;
  for (let turn = 0; turn < turns && !done?.(); turn++) await new Promise((resolve) => setImmediate(resolve));
}

const client = connectTestRedis();
const prefix = uniquePrefix('recent-ips');
let stores = 0;
after(async () => {
  await deleteKeys(client, prefix);
  await client.quit();
});

// The stores' clock: ahead of the real one, so that Redis' absolute expiries (PXAT) lie in the future.
let time = Date.now();
const STORES: [string, () => TokenStore][] = [
  ['memory', () => new MemoryTokenStore({ now: () => time })],
  ['Redis', () => new RedisTokenStore(client, { prefix: `${prefix}${stores++}:`, now: () => time })],
];

for (const [name, makeStore] of STORES) {
  describe(`recent IPs through the service (${name} store)`, () => {
    test('six uses from six IPs leave the five most recent in inspect, each first use one new-ip event', async () => {
      const { tokens, events, newIps } = tracking(makeStore());
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      const seen: number[] = [];
      for (const ip of IPS) {
        time += 1000;
        seen.push(time);
        assert.ok((await tokens.authenticate(issued.token, { ip })).ok);
      }
      // Known addresses again, within the touch interval: nothing new, no event.
      for (const ip of IPS.slice(3)) {
        time += 1000;
        assert.ok((await tokens.authenticate(issued.token, { ip })).ok);
      }
      const info = (await tokens.inspect(issued.id))!;
      assert.deepEqual(
        info.recentIps.map((entry) => [entry.ip, entry.lastSeenAt.getTime()]),
        IPS.slice(1)
          .map((ip, i) => [ip, seen[i + 1]])
          .reverse(),
      );
      assert.deepEqual(
        newIps().map((event) => event.type === 'new-ip' && [event.ip, event.tokenId, event.login]),
        IPS.map((ip) => [ip, issued.id, 'alice']),
      );
      assert.ok(!JSON.stringify(events).includes(issued.token.slice(-20)), 'no token text in events');
    });

    test('an address that is not one (X-Forwarded-For text, a zone id, too long) is never recorded', async () => {
      const { tokens, newIps } = tracking(makeStore());
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      for (const ip of [
        '1.2.3.4 ',
        'fe80::1%eth0',
        `1:2:3:4:5:6:7:8%${'x'.repeat(300)}`,
        'a\tb',
        '',
        'pat_x',
      ]) {
        time += 1000;
        assert.ok((await tokens.authenticate(issued.token, { ip })).ok);
      }
      assert.deepEqual((await tokens.inspect(issued.id))?.recentIps, []);
      assert.deepEqual(newIps(), []);
    });

    test('an address seen within a second of the last write is on record with the next write, its new-ip event then, once', async () => {
      const { tokens, newIps } = tracking(makeStore());
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      const [a, b, c] = IPS as [string, string, string];
      time += 1000;
      const first = time;
      assert.ok((await tokens.authenticate(issued.token, { ip: a })).ok);
      time += 300;
      const seenB = time;
      assert.ok((await tokens.authenticate(issued.token, { ip: b })).ok);
      assert.deepEqual(
        (await tokens.inspect(issued.id))?.recentIps.map((entry) => entry.ip),
        [a],
        'within the gap: not written yet',
      );
      assert.deepEqual(
        newIps().map((event) => event.type === 'new-ip' && event.ip),
        [a],
      );
      // Known addresses only, within the gap: still nothing written.
      time += 300;
      assert.ok((await tokens.authenticate(issued.token, { ip: a })).ok);
      assert.equal((await tokens.inspect(issued.id))?.recentIps.length, 1);
      // The gap over: the next use, from a known address, writes b too, at the time it was seen.
      time = first + 1000;
      assert.ok((await tokens.authenticate(issued.token, { ip: a })).ok);
      const info = (await tokens.inspect(issued.id))!;
      assert.deepEqual(
        info.recentIps.map((entry) => [entry.ip, entry.lastSeenAt.getTime()]),
        [
          [a, first + 1000],
          [b, seenB],
        ],
      );
      assert.equal(info.lastUsedAt?.getTime(), first + 1000);
      // b again, and c after the gap: one event each, ever.
      time += 100;
      assert.ok((await tokens.authenticate(issued.token, { ip: b })).ok);
      time += 1000;
      assert.ok((await tokens.authenticate(issued.token, { ip: c })).ok);
      for (let i = 0; i < 5; i++) {
        time += 1000;
        assert.ok((await tokens.authenticate(issued.token, { ip: IPS[i % 3] })).ok);
      }
      assert.deepEqual(
        newIps().map((event) => event.type === 'new-ip' && [event.ip, event.tokenId, event.login]),
        [a, b, c].map((ip) => [ip, issued.id, 'alice']),
      );
    });

    test('with no use after it, an address seen within the gap is written by a timer once the gap is over', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const { tokens, newIps } = tracking(makeStore());
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      const [a, b, c] = IPS as [string, string, string];
      time += 1000;
      const first = time;
      assert.ok((await tokens.authenticate(issued.token, { ip: a })).ok);
      const expiresAt = (await tokens.inspect(issued.id))!.expiresAt.getTime();
      time += 300;
      assert.ok((await tokens.authenticate(issued.token, { ip: b })).ok);
      time += 100;
      assert.ok((await tokens.authenticate(issued.token, { ip: c })).ok);
      t.mock.timers.tick(699);
      await settled();
      assert.equal((await tokens.inspect(issued.id))?.recentIps.length, 1, 'not before the gap is over');
      time = first + 1000;
      t.mock.timers.tick(1);
      await settled(() => newIps().length === 3);
      const info = (await tokens.inspect(issued.id))!;
      assert.deepEqual(
        info.recentIps.map((entry) => [entry.ip, entry.lastSeenAt.getTime()]),
        [
          [c, first + 400],
          [b, first + 300],
          [a, first],
        ],
      );
      assert.equal(info.lastUsedAt?.getTime(), first + 400, 'as of the latest use it records');
      assert.equal(info.lastUsedIp, c);
      assert.equal(info.expiresAt.getTime(), expiresAt, 'no use of its own: the expiry did not move');
      time += 100;
      assert.ok((await tokens.authenticate(issued.token, { ip: b })).ok);
      t.mock.timers.tick(10_000);
      await settled();
      assert.deepEqual(
        newIps().map((event) => event.type === 'new-ip' && event.ip),
        [a, b, c],
        'one event each, ever',
      );
    });

    test('with the cache on, an address seen within the gap is answered from the cache and written next', async () => {
      const { tokens, newIps } = tracking(makeStore(), { cache: { maxStale: 60_000 } });
      try {
        const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
        time += 1000;
        assert.ok((await tokens.authenticate(issued.token, { ip: IPS[0] })).ok);
        time += 100;
        assert.ok((await tokens.authenticate(issued.token, { ip: IPS[0] })).ok, 'a hit');
        time += 100;
        assert.ok((await tokens.authenticate(issued.token, { ip: IPS[1] })).ok, 'within the gap');
        assert.equal((await tokens.inspect(issued.id))?.recentIps.length, 1);
        time += 1000;
        assert.ok((await tokens.authenticate(issued.token, { ip: IPS[0] })).ok);
        assert.deepEqual(
          (await tokens.inspect(issued.id))?.recentIps.map((entry) => entry.ip),
          [IPS[0], IPS[1]],
        );
        assert.equal(newIps().length, 2);
      } finally {
        await tokens.close();
      }
    });

    test('two services on one store: an address one of them kept waiting and the other wrote is announced once', async () => {
      const store = makeStore();
      const one = tracking(store);
      const other = tracking(store);
      const issued = await one.tokens.issue({ user: 'alice', expiresIn: '1h' });
      time += 1000;
      assert.ok((await one.tokens.authenticate(issued.token, { ip: IPS[0] })).ok);
      time += 100;
      assert.ok((await one.tokens.authenticate(issued.token, { ip: IPS[1] })).ok, 'waits in one');
      time += 1000;
      assert.ok((await other.tokens.authenticate(issued.token, { ip: IPS[1] })).ok, 'written by the other');
      time += 1000;
      assert.ok((await one.tokens.authenticate(issued.token, { ip: IPS[0] })).ok);
      const announced = [...one.newIps(), ...other.newIps()].map(
        (event) => event.type === 'new-ip' && event.ip,
      );
      assert.deepEqual(announced.sort(), [IPS[0], IPS[1]].sort());
    });

    test('with the cache on, a new address still goes to the store and is recorded', async () => {
      const { tokens, newIps } = tracking(makeStore(), { cache: { maxStale: 60_000 } });
      try {
        const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
        for (const ip of IPS.slice(0, 3)) {
          time += 1000;
          assert.ok((await tokens.authenticate(issued.token, { ip })).ok);
        }
        assert.equal((await tokens.inspect(issued.id))?.recentIps.length, 3);
        assert.equal(newIps().length, 3);
      } finally {
        await tokens.close();
      }
    });
  });
}

test("the self-service router's JSON lists a token's recent IPs, newest first, from X-Forwarded-For", async () => {
  const { tokens } = tracking(new MemoryTokenStore({ now: () => time }));
  const app = express();
  app.set('trust proxy', true);
  app.use('/pat', personalTokenAuth({ tokens }), tokenRouter({ tokens }));
  const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
  for (const ip of IPS.slice(0, 2)) {
    time += 1000;
    await request(app)
      .get('/pat/tokens')
      .set('Authorization', `Bearer ${issued.token}`)
      .set('X-Forwarded-For', ip)
      .expect(200);
  }
  const res = await request(app)
    .get(`/pat/tokens/${issued.id}`)
    .set('Authorization', `Bearer ${issued.token}`)
    .set('X-Forwarded-For', IPS[1]!)
    .expect(200);
  assert.deepEqual(res.body.recentIps, [
    { ip: IPS[1], lastSeenAt: new Date(time).toISOString() },
    { ip: IPS[0], lastSeenAt: new Date(time - 1000).toISOString() },
  ]);
});

describe('recent IPs: writes counted at the Redis server', () => {
  /** The writes of a token's record while `run` runs: SETs by the scripts on its key. */
  async function writesDuring(store: RedisTokenStore, id: string, run: () => Promise<void>): Promise<number> {
    const monitor = await monitorTestRedis();
    try {
      await run();
      await monitor.settle(client);
    } finally {
      monitor.stop();
    }
    const key = store.tokenKey(id);
    return monitor.commands.filter(({ args }) => args[0]?.toLowerCase() === 'set' && args[1] === key).length;
  }

  /** 1,000 uses from one address over two touch intervals (60 s), the first one included. */
  async function thousandUses(trackIp: boolean): Promise<number> {
    const store = new RedisTokenStore(client, { prefix: `${prefix}${stores++}:`, now: () => time });
    const tokens = new TokenService({ store, trackIp });
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    return writesDuring(store, issued.id, async () => {
      for (let i = 0; i < 1000; i++) {
        time += 120;
        assert.ok((await tokens.authenticate(issued.token, { ip: IPS[0] })).ok);
      }
    });
  }

  test('1,000 uses from one known IP write no more than lastUsedAt alone does', async () => {
    const withoutIps = await thousandUses(false);
    const withIps = await thousandUses(true);
    assert.equal(withoutIps, 2, 'lastUsedAt: the first use, then once per touch interval');
    assert.equal(withIps, withoutIps);
  });

  test('100 uses from 100 new IPs within one second write at most twice, racing or one by one', async () => {
    const store = new RedisTokenStore(client, { prefix: `${prefix}${stores++}:`, now: () => time });
    const { tokens, newIps } = tracking(store);
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const addresses = (from: number) => Array.from({ length: 100 }, (_, i) => `192.0.2.${from + i}`);
    const oneByOne = await writesDuring(store, issued.id, async () => {
      for (const ip of addresses(0)) {
        time += 9;
        assert.ok((await tokens.authenticate(issued.token, { ip })).ok);
      }
    });
    assert.ok(oneByOne >= 1 && oneByOne <= 2, `${oneByOne} writes one by one`);
    time += 1000;
    const racing = await writesDuring(store, issued.id, async () => {
      const uses = addresses(100).map((ip) => tokens.authenticate(issued.token, { ip }));
      for (const result of await Promise.all(uses)) assert.ok(result.ok);
    });
    assert.ok(racing >= 1 && racing <= 2, `${racing} writes racing`);
    // Each address announced at most once, and only one that is on record.
    const announced = newIps().map((event) => event.type === 'new-ip' && event.ip);
    assert.equal(new Set(announced).size, announced.length, 'no address announced twice');
    const recent = (await tokens.inspect(issued.id))!.recentIps.map((entry) => entry.ip);
    for (const ip of recent) assert.ok(announced.includes(ip), `${ip} on record was announced`);
    // The racing addresses that waited: the next write (a second on, one use) puts them on record.
    time += 1000;
    const flushed = await writesDuring(store, issued.id, async () => {
      assert.ok((await tokens.authenticate(issued.token, { ip: addresses(100)[0] })).ok);
    });
    assert.equal(flushed, 1, 'one write');
    const after = (await tokens.inspect(issued.id))!.recentIps.map((entry) => entry.ip);
    assert.equal(after.length, 5);
    for (const ip of after) assert.ok(addresses(100).includes(ip), `${ip}: one of the racing addresses`);
    const all = newIps().map((event) => event.type === 'new-ip' && event.ip);
    for (const ip of after) assert.equal(all.filter((one) => one === ip).length, 1, `${ip} announced once`);
  });

  test('an attacker rotating addresses for 10 s makes one write a second, and the record holds its last ones', async () => {
    const store = new RedisTokenStore(client, { prefix: `${prefix}${stores++}:`, now: () => time });
    const { tokens, newIps } = tracking(store);
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    time += 1000;
    assert.ok((await tokens.authenticate(issued.token, { ip: IPS[0] })).ok);
    const start = time;
    const attacker = Array.from({ length: 1000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    const writes = await writesDuring(store, issued.id, async () => {
      for (const ip of attacker) {
        time += 10;
        assert.ok((await tokens.authenticate(issued.token, { ip })).ok);
      }
    });
    const seconds = (time - start) / 1000;
    assert.ok(writes <= seconds, `${writes} writes in ${seconds} s`);
    assert.ok(writes >= seconds - 1, `${writes} writes in ${seconds} s: each second's addresses on record`);
    const recent = (await tokens.inspect(issued.id))!.recentIps;
    assert.equal(recent.length, 5);
    for (const entry of recent) assert.ok(attacker.includes(entry.ip));
    const announced = newIps().map((event) => event.type === 'new-ip' && event.ip);
    assert.equal(new Set(announced).size, announced.length, 'no address announced twice');
  });
});

describe('recent IPs on PostgreSQL', () => {
  let server: PostgresServer;
  let h: PostgresHarness;
  before(async () => {
    server = await startPostgres();
    h = await makePostgresHarness(server);
  });
  after(async () => {
    await h?.cleanup();
    await server?.cleanup();
  });

  /** The transaction that wrote the token's row version: it changes with every write. */
  async function rowVersion(id: string): Promise<string> {
    const { rows } = await h.pool.query(`SELECT xmin::text AS xmin FROM "${h.store.table}" WHERE id = $1`, [
      id,
    ]);
    return rows[0].xmin;
  }

  test('uses from a known IP write nothing within the touch interval; a new one is written, a second on', async () => {
    const events: TokenEvent[] = [];
    const tokens = new TokenService({
      store: h.store,
      trackIp: true,
      onEvent: (event) => {
        events.push(event);
      },
    });
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    assert.ok((await tokens.authenticate(issued.token, { ip: IPS[0] })).ok);
    const written = await rowVersion(issued.id);
    for (let i = 0; i < 200; i++) {
      await h.advance(100);
      assert.ok((await tokens.authenticate(issued.token, { ip: IPS[0] })).ok);
    }
    assert.equal(await rowVersion(issued.id), written, 'no write');
    const racing = IPS.slice(1, 5).map((ip) => tokens.authenticate(issued.token, { ip }));
    for (const result of await Promise.all(racing)) assert.ok(result.ok);
    const info = (await tokens.inspect(issued.id))!;
    assert.equal(info.recentIps.length, 2, 'one of the racing new addresses written');
    assert.deepEqual(
      events.filter((event) => event.type === 'new-ip').map((event) => event.type === 'new-ip' && event.ip),
      [IPS[0], info.recentIps[0]!.ip],
    );
    // The others waited in the service: the next write, a second on, puts them on record, once each.
    await h.advance(1000);
    assert.ok((await tokens.authenticate(issued.token, { ip: IPS[0] })).ok);
    const after = (await tokens.inspect(issued.id))!;
    assert.deepEqual(after.recentIps.map((entry) => entry.ip).sort(), IPS.slice(0, 5).sort());
    const announced = events
      .filter((event) => event.type === 'new-ip')
      .map((event) => event.type === 'new-ip' && event.ip);
    assert.deepEqual(announced.slice().sort(), IPS.slice(0, 5).sort());
  });
});

describe('the addresses waiting for a next write (PendingIps)', () => {
  test('an attacker rotating addresses over many tokens keeps at most maxTokens of them, the oldest going', () => {
    const pending = new PendingIps(100);
    for (let i = 0; i < 10_000; i++) pending.add(i.toString(16).padStart(16, '0'), `198.18.0.${i & 255}`, i);
    assert.equal(pending.size, 100);
    assert.equal(pending.of((0).toString(16).padStart(16, '0')), undefined, 'the oldest went');
    assert.deepEqual(pending.of((9999).toString(16).padStart(16, '0')), [
      { ip: '198.18.0.15', lastSeenAt: 9999 },
    ]);
  });

  test('a token keeps its 5 latest addresses, each once at its latest time, oldest first', () => {
    const pending = new PendingIps();
    const id = 'a'.repeat(16);
    for (let i = 0; i < 8; i++) pending.add(id, `192.0.2.${i}`, 1000 + i);
    pending.add(id, '192.0.2.4', 2000);
    assert.deepEqual(
      pending.of(id)?.map((entry) => [entry.ip, entry.lastSeenAt]),
      [
        ['192.0.2.3', 1003],
        ['192.0.2.5', 1005],
        ['192.0.2.6', 1006],
        ['192.0.2.7', 1007],
        ['192.0.2.4', 2000],
      ],
    );
  });

  test('settle drops what the record holds as late, and what a full record holds only newer ones than', () => {
    const pending = new PendingIps();
    const id = 'b'.repeat(16);
    pending.add(id, '192.0.2.1', 100);
    pending.add(id, '192.0.2.2', 200);
    pending.add(id, '192.0.2.3', 300);
    pending.settle(id, [{ ip: '192.0.2.2', lastSeenAt: 150 }]);
    assert.equal(pending.of(id)?.length, 3, 'held only from before it was seen: all stay');
    pending.settle(id, [{ ip: '192.0.2.2', lastSeenAt: 200 }]);
    assert.deepEqual(
      pending.of(id)?.map((entry) => entry.ip),
      ['192.0.2.1', '192.0.2.3'],
    );
    const full = [5, 4, 3, 2, 1].map((i) => ({ ip: `198.51.100.${i}`, lastSeenAt: 200 + i }));
    pending.settle(id, full);
    assert.deepEqual(
      pending.of(id),
      [{ ip: '192.0.2.3', lastSeenAt: 300 }],
      'older than a full record: gone',
    );
    pending.settle(id, [{ ip: '192.0.2.3', lastSeenAt: 300 }]);
    assert.equal(pending.of(id), undefined, 'on record: gone');
    assert.equal(pending.size, 0);
  });
});

test("the timer's write records the latest waiting use as it was, and never one older than the last write", async () => {
  const store = new MemoryTokenStore({ now: () => time });
  const tokens = new TokenService({ store, trackIp: true });
  const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
  const id = issued.id;
  const secretHash = (await store.get(id))!.secretHash;
  time += 1000;
  const first = time;
  assert.ok((await tokens.authenticate(issued.token, { ip: IPS[0] })).ok);
  const waiting = [
    { ip: IPS[1]!, lastSeenAt: first + 300 },
    { ip: IPS[2]!, lastSeenAt: first + 200 },
  ];
  const early = await store.verify(id, secretHash, planFlush(waiting, first + 999, 60_000));
  assert.equal(early && 'lastUsedAt' in early && early.lastUsedAt, first, 'within the gap: nothing');
  time = first + 1000;
  const flushed = await store.verify(id, secretHash, planFlush(waiting, time, 60_000));
  assert.ok(flushed && 'recentIps' in flushed);
  assert.equal(flushed.lastUsedAt, first + 300, 'the latest waiting use, at its time');
  assert.equal(flushed.lastUsedIp, IPS[1]);
  assert.deepEqual(flushed.addedIps?.slice().sort(), [IPS[1], IPS[2]].sort());
  time = first + 3000;
  const stale = await store.verify(
    id,
    secretHash,
    planFlush([{ ip: IPS[3]!, lastSeenAt: first + 100 }], time, 60_000),
  );
  assert.ok(stale && 'recentIps' in stale);
  assert.equal(stale.lastUsedAt, first + 300, 'a use older than the last write: nothing written');
  assert.equal(stale.recentIps.length, 3);
});
