import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { MemoryTokenStore } from '../adapters/memory';
import { RedisTokenStore } from '../adapters/redis';
import {
  MAX_LEAK_SOURCE,
  OptionsError,
  StoreUnavailableError,
  type TokenEvent,
  TokenService,
  type TokenStore,
} from '../lib/index';
import { checksum, formatToken, generateToken } from '../lib/token-format';
import { makePostgresHarness } from './support/postgres-harness';
import { type PostgresServer, startPostgres } from './support/postgres-server';
import { connectTestRedis, deleteKeys, uniquePrefix } from './support/redis';

const HOUR = 3_600_000;

interface Harness {
  store: TokenStore;
  /** Moves the store's clock on, or null where time cannot be injected (Redis). */
  advance: ((ms: number) => Promise<void>) | null;
}

/** A token text in the right shape, with a valid checksum, but a made-up id: never issued. */
function plantedText(id: string, prefix = 'pat_'): string {
  const { token } = formatToken(prefix, randomBytes(32).toString('base64url'), {
    autoRefresh: null,
    hardExpiresAt: null,
  });
  const body = prefix + id + token.slice(prefix.length + 16, -6);
  return body + checksum(body);
}

function leakSuite(name: string, makeHarness: () => Promise<Harness>): void {
  describe(`revokeLeaked on the ${name} store`, () => {
    let harness: Harness;
    let tokens: TokenService;
    const events: TokenEvent[] = [];
    before(async () => {
      harness = await makeHarness();
      tokens = new TokenService({ store: harness.store, onEvent: (event) => void events.push(event) });
    });

    test('the live token is revoked, with a revoked and a leaked event that hold no token text', async () => {
      events.length = 0;
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      const source = 'https://github.com/acme/app/blob/main/.env';
      assert.equal(await tokens.revokeLeaked(issued.token, { source }), 'revoked');
      assert.equal(await tokens.verify(issued.token), null);
      assert.equal((await tokens.authenticate(issued.token)).ok, false);
      assert.deepEqual(
        events.map((event) => event.type),
        ['issued', 'revoked', 'leaked'],
      );
      const leaked = events[2] as Extract<TokenEvent, { type: 'leaked' }>;
      assert.equal(leaked.tokenId, issued.id);
      assert.equal(leaked.login, 'alice');
      assert.equal(leaked.source, source);
      assert.ok(leaked.time instanceof Date);
      assert.ok(!JSON.stringify(events).includes(issued.token.slice(4 + 16)));
    });

    test('the same text again is already revoked, and emits nothing', async () => {
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      await tokens.revoke(issued.id);
      events.length = 0;
      assert.equal(await tokens.revokeLeaked(issued.token, { source: 'x' }), 'already-revoked');
      assert.equal(await tokens.revokeLeaked(issued.token, { source: 'x' }), 'already-revoked');
      assert.deepEqual(events, []);
    });

    test('a revoked id with a made-up secret is unknown, not already revoked', async () => {
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      await tokens.revoke(issued.id);
      assert.equal(await tokens.revokeLeaked(plantedText(issued.id), { source: 'x' }), 'unknown');
    });

    test('a live id with a made-up secret revokes nothing and is no use of the token', async () => {
      const issued = await tokens.issue({ user: 'alice', autoRefresh: '1h' });
      events.length = 0;
      assert.equal(await tokens.revokeLeaked(plantedText(issued.id), { source: 'x' }), 'unknown');
      assert.equal((await tokens.inspect(issued.id))?.lastUsedAt, null);
      assert.deepEqual(events, []);
      assert.ok(await tokens.verify(issued.token));
    });

    test('a record under the id with another hash (as a forged id would meet) is left alone', async () => {
      // The text parses (its id is the hash of its secret); a record under that id with a different
      // hash stands for the 64-bit collision nobody can make: the full hash decides.
      const { token, id, secretHash } = generateToken('pat_', { autoRefresh: null, hardExpiresAt: null });
      const now = tokens.now();
      const otherHash = id + randomBytes(24).toString('hex');
      assert.notEqual(otherHash, secretHash);
      await harness.store.create({
        id,
        user: 'bob',
        secretHash: otherHash,
        label: null,
        scopes: [],
        createdAt: now,
        expiresAt: now + HOUR,
        hardExpiresAt: now + HOUR,
        autoRefresh: null,
        lastUsedAt: null,
        lastUsedIp: null,
        recentIps: [],
      });
      assert.equal(await tokens.revokeLeaked(token, { source: 'x' }), 'unknown');
      const kept = await harness.store.get(id);
      assert.equal(kept?.secretHash, otherHash);
      assert.equal(kept?.lastUsedAt, null);
    });

    test('garbage, another prefix, a bad checksum, a public id or an unknown token: unknown', async () => {
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      const other = generateToken('ghp_', { autoRefresh: null, hardExpiresAt: null }).token;
      const unknown = generateToken('pat_', { autoRefresh: null, hardExpiresAt: null }).token;
      const badChecksum = issued.token.slice(0, -1) + (issued.token.endsWith('A') ? 'B' : 'A');
      const texts = [
        '',
        'pat_',
        issued.id,
        `pat_${issued.id}`,
        other,
        unknown,
        badChecksum,
        `${issued.token} `,
      ];
      for (const text of texts) assert.equal(await tokens.revokeLeaked(text, { source: 'x' }), 'unknown');
      assert.ok(await tokens.verify(issued.token));
    });

    test('an expired token is unknown', async (t) => {
      if (!harness.advance) return t.diagnostic('Redis expires keys on its own clock: covered on the others');
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      await harness.advance(HOUR + 1);
      assert.equal(await tokens.revokeLeaked(issued.token, { source: 'x' }), 'unknown');
    });

    test('racing reports of one token: one revokes, the others find it revoked', async () => {
      const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      events.length = 0;
      const verdicts = await Promise.all(
        Array.from({ length: 5 }, () => tokens.revokeLeaked(issued.token, { source: 'x' })),
      );
      assert.equal(verdicts.filter((verdict) => verdict === 'revoked').length, 1);
      assert.equal(verdicts.filter((verdict) => verdict === 'already-revoked').length, 4);
      assert.equal(events.filter((event) => event.type === 'leaked').length, 1);
    });
  });
}

leakSuite('memory', async () => {
  let time = Date.UTC(2026, 0, 1);
  return {
    store: new MemoryTokenStore({ now: () => time }),
    advance: async (ms) => {
      time += ms;
    },
  };
});

describe('on Redis', () => {
  const client = connectTestRedis();
  const prefix = uniquePrefix('leaked');
  after(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });
  leakSuite('Redis', async () => ({ store: new RedisTokenStore(client, { prefix }), advance: null }));
});

describe('on PostgreSQL', () => {
  let server: PostgresServer;
  let cleanup: (() => Promise<void>) | undefined;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await cleanup?.();
    await server?.cleanup();
  });
  leakSuite('PostgreSQL', async () => {
    const harness = await makePostgresHarness(server);
    cleanup = harness.cleanup;
    return { store: harness.store, advance: harness.advance };
  });
});

describe('revokeLeaked: its source, its options, a store that is down', () => {
  const time = Date.UTC(2026, 0, 1);
  const events: TokenEvent[] = [];
  const tokens = new TokenService({
    store: new MemoryTokenStore({ now: () => time }),
    onEvent: (event) => void events.push(event),
  });
  const leakedSource = async (source: string) => {
    events.length = 0;
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    assert.equal(await tokens.revokeLeaked(issued.token, { source }), 'revoked');
    const leaked = events.find((event) => event.type === 'leaked');
    assert.ok(leaked);
    return { source: leaked.source };
  };

  test('control characters, line separators and bidi overrides are taken out', async () => {
    const { source } = await leakedSource('a\r\nlevel=error msg=forged\u0085\u2028\u202e\u0000\u001b[31mb');
    assert.equal(source, 'alevel=error msg=forged[31mb');
  });

  test('a token of the prefix in the source is cut out, even the leaked one itself', async () => {
    const other = generateToken('pat_', { autoRefresh: null, hardExpiresAt: null }).token;
    events.length = 0;
    const issued = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const source = `see ${issued.token} and ${other.toUpperCase()} and ${other.slice(4)} at https://x/y`;
    assert.equal(await tokens.revokeLeaked(issued.token, { source }), 'revoked');
    const leaked = events.find((event) => event.type === 'leaked');
    assert.equal(
      leaked?.type === 'leaked' && leaked.source,
      'see [token] and [token] and [token] at https://x/y',
    );
  });

  test('a long source is bounded, and stays well-formed text', async () => {
    const { source } = await leakedSource(
      `${'x'.repeat(MAX_LEAK_SOURCE - 1)}\u{1f511}${'y'.repeat(100_000)}`,
    );
    assert.equal(source.length, MAX_LEAK_SOURCE);
    assert.equal(source.at(-1), '\ufffd');
  });

  test('options must be { source: string }, named in the error', async () => {
    const { token } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    await assert.rejects(tokens.revokeLeaked(token, { source: 'x', sorce: 'y' } as never), (error) => {
      return (
        error instanceof OptionsError && error.code === 'ERR_UNKNOWN_OPTION' && /sorce/.test(error.message)
      );
    });
    await assert.rejects(tokens.revokeLeaked(token, {} as never), /source/);
    await assert.rejects(tokens.revokeLeaked(token, undefined as never), OptionsError);
    assert.ok(await tokens.verify(token), 'nothing revoked by a call refused');
  });

  test('already revoked, it is revoked again: a cache an earlier revocation never reached drops it', async () => {
    // The memory store's channel is subscribed at once: the cache is in use from the first check.
    const store = new MemoryTokenStore({ now: () => time });
    const reporter = new TokenService({ store });
    const cached = new TokenService({ store, cache: { maxStale: '1h' } });
    const issued = await reporter.issue({ user: 'alice', expiresIn: '1h' });
    assert.ok(await cached.verify(issued.token));
    // Revoked in the store with no announcement (as when its publish failed): the cache goes on.
    await store.delete(issued.id, time + HOUR);
    assert.ok(await cached.verify(issued.token), 'still cached');
    assert.equal(await reporter.revokeLeaked(issued.token, { source: 'x' }), 'already-revoked');
    assert.equal(await cached.verify(issued.token), null);
    await cached.close();
  });

  test('a store that cannot answer: StoreUnavailableError, for a live token and an unknown one', async () => {
    const memory = new MemoryTokenStore({ now: () => time });
    const working = new TokenService({ store: memory });
    const { token } = await working.issue({ user: 'alice', expiresIn: '1h' });
    const down = new Error('connect ECONNREFUSED 127.0.0.1:1');
    const broken: TokenStore = {
      create: (...args) => memory.create(...args),
      verify: () => Promise.reject(down),
      get: () => Promise.reject(down),
      listPage: (...args) => memory.listPage(...args),
      delete: () => Promise.reject(down),
      limit: () => Promise.reject(down),
    };
    const failing = new TokenService({ store: broken, now: () => time });
    const unknown = generateToken('pat_', { autoRefresh: null, hardExpiresAt: null }).token;
    await assert.rejects(failing.revokeLeaked(token, { source: 'x' }), StoreUnavailableError);
    await assert.rejects(failing.revokeLeaked(unknown, { source: 'x' }), StoreUnavailableError);
    assert.equal(await failing.revokeLeaked('garbage', { source: 'x' }), 'unknown');
    assert.ok(await working.verify(token));
  });
});
