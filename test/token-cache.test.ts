import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryTokenStore } from '../adapters/memory';
import { decodeInvalidation, encodeInvalidation } from '../lib/cache-invalidation';
import type { Check } from '../lib/check/token-checker';
import { authenticateCredentials } from '../lib/http/middleware';
import {
  type InvalidationChannel,
  InvalidDurationError,
  TokenService,
  type TokenServiceOptions,
  type TokenStore,
} from '../lib/index';

const START = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

/** The memory store as it is, counting the checks that reach it. */
function countingStore(now: () => number): { store: MemoryTokenStore; verifies: () => number } {
  const store = new MemoryTokenStore({ now });
  const verify = store.verify.bind(store);
  let calls = 0;
  store.verify = (...args) => {
    calls++;
    return verify(...args);
  };
  return { store, verifies: () => calls };
}

function setup(cache: TokenServiceOptions['cache'], options: Partial<TokenServiceOptions> = {}) {
  const clock = { time: START };
  const { store, verifies } = countingStore(() => clock.time);
  const tokens = new TokenService({ store, cache, ...options });
  return { clock, store, tokens, verifies };
}

function check(tokens: TokenService, token: string, login?: string): Promise<Check> {
  return tokens.checker.check(token, login, undefined);
}

describe('TokenService cache: configuration', () => {
  test('a store without an invalidation channel cannot have a cache (TypeError), and bad options are refused', () => {
    const memory = new MemoryTokenStore();
    const withoutChannel: TokenStore = {
      create: (token, options) => memory.create(token, options),
      verify: (id, hash, options) => memory.verify(id, hash, options),
      get: (id) => memory.get(id),
      listPage: (user, page) => memory.listPage(user, page),
      delete: (id, until) => memory.delete(id, until),
      limit: (id, at) => memory.limit(id, at),
    };
    assert.throws(() => new TokenService({ store: withoutChannel, cache: {} }), {
      name: 'TypeError',
      message: /invalidation channel/,
    });
    // Without a cache the same store is fine.
    assert.ok(new TokenService({ store: withoutChannel }));
    assert.throws(() => new TokenService({ store: memory, cache: { maxEntries: 0 } }), TypeError);
    assert.throws(() => new TokenService({ store: memory, cache: { maxEntries: 1.5 } }), TypeError);
    assert.throws(
      () => new TokenService({ store: memory, cache: { maxStale: '1.5s' } }),
      InvalidDurationError,
    );
    assert.throws(() => new TokenService({ store: memory, cache: { maxStale: -1 } }), InvalidDurationError);
  });

  // `cache: enabled && { ... }` in plain JavaScript: false must not turn on what it means to keep off.
  test('cache: false or null is off; anything else that is not an object is refused (TypeError)', async () => {
    for (const cache of [false, null]) {
      const { tokens, verifies } = setup(cache as never);
      const { token } = await tokens.issue({ user: 'ann', expiresIn: '1h' });
      for (let i = 0; i < 3; i++) assert.equal((await check(tokens, token)).ok, true);
      assert.equal(verifies(), 3, String(cache));
    }
    for (const cache of [true, 'on', 1, () => ({})]) {
      assert.throws(
        () => new TokenService({ store: new MemoryTokenStore(), cache: cache as never }),
        (error) => error instanceof TypeError && /cache/.test(error.message),
      );
    }
  });

  test('off by default: every check goes to the store', async () => {
    const { tokens, verifies } = setup(undefined);
    const { token } = await tokens.issue({ user: 'ann', expiresIn: '1h' });
    for (let i = 0; i < 5; i++) assert.equal((await check(tokens, token)).ok, true);
    assert.equal(verifies(), 5);
  });
});

describe('TokenService cache: hits and misses (memory store, injected clock)', () => {
  test('a hit costs no store call and answers exactly as the store did', async () => {
    const { tokens, verifies, clock } = setup({ maxStale: '1m' });
    const { token } = await tokens.issue({ user: 'ann', expiresIn: '1h', scopes: ['node:n1:r'] });
    const miss = await tokens.authenticate(token);
    assert.equal(verifies(), 1);
    const hit = await tokens.authenticate(token);
    assert.equal(verifies(), 1);
    assert.deepEqual(hit, miss);
    clock.time += 30_000;
    assert.deepEqual(await tokens.authenticate(token), miss);
    assert.equal(verifies(), 1);
  });

  test("a sliding token's hit reports the expiry a miss would, and no one can change what the next hit gets", async () => {
    const { tokens, store, clock } = setup({ maxStale: '1m' });
    const uncached = new TokenService({ store });
    const { token } = await tokens.issue({ user: 'ann', autoRefresh: '10m', scopes: ['node:n1:r'] });
    await check(tokens, token);
    clock.time += 500;
    const hit = await check(tokens, token);
    const miss = await check(uncached, token);
    assert.ok(hit.ok && miss.ok);
    assert.deepEqual(hit.token, miss.token);
    // What the service hands out is the caller's own: changing it changes nothing a later check reads.
    const authenticated = await tokens.authenticate(token);
    assert.ok(authenticated.ok);
    authenticated.token.scopes.push('node:n2:rw');
    const credentials = { scheme: 'bearer', token } as const;
    const outcome = await authenticateCredentials(credentials, {
      checker: tokens.checker,
      schemes: ['bearer'],
      resolveUser: undefined,
    });
    assert.equal(outcome.kind, 'success');
    if (outcome.kind === 'success') outcome.info.scopes.push('node:n3:rw');
    const next = await check(tokens, token);
    assert.ok(next.ok);
    assert.deepEqual(next.token.scopes, ['node:n1:r']);
    assert.equal(next.token.user, 'ann');
  });

  test('only successful checks are cached: unknown, wrong-login, revoked and expired tokens always reach the store', async () => {
    const { tokens, verifies, clock } = setup({ maxStale: '1m' });
    const unknown = (
      await new TokenService({ store: new MemoryTokenStore() }).issue({ user: 'x', expiresIn: '1h' })
    ).token;
    for (let i = 0; i < 10; i++) assert.equal((await check(tokens, unknown)).ok, false);
    assert.equal(verifies(), 10);
    const { token } = await tokens.issue({ user: 'ann', expiresIn: '1h' });
    for (let i = 0; i < 3; i++) assert.deepEqual((await check(tokens, token, 'bob')).ok, false);
    assert.equal(verifies(), 13);
    // The right login then fills the cache; a wrong one on a hit is refused as on a miss.
    assert.equal((await check(tokens, token, 'ann')).ok, true);
    const mismatch = await check(tokens, token, 'bob');
    assert.equal(mismatch.ok, false);
    assert.equal(!mismatch.ok && mismatch.reason, 'user_mismatch');
    assert.equal(verifies(), 14);
    // Past its hard limit, a cached token goes back to the store, which refuses it as without a cache.
    clock.time += 61 * MINUTE;
    const expired = await check(tokens, token);
    assert.equal(expired.ok, false);
    assert.equal(verifies(), 15);
  });

  test('maxEntries bounds the cache, dropping the least recently used', async () => {
    const { tokens, verifies } = setup({ maxEntries: 3, maxStale: '1m' });
    const issued = [];
    for (let i = 0; i < 4; i++) issued.push((await tokens.issue({ user: 'ann', expiresIn: '1h' })).token);
    const [a, b, c, d] = issued as [string, string, string, string];
    for (const token of [a, b, c]) await check(tokens, token);
    await check(tokens, a); // a hit: a is now the most recent, b the least
    assert.equal(verifies(), 3);
    await check(tokens, d); // a miss that pushes b out
    assert.equal(verifies(), 4);
    for (const token of [a, c, d]) await check(tokens, token);
    assert.equal(verifies(), 4);
    await check(tokens, b);
    assert.equal(verifies(), 5);
  });

  test('with room for one entry, each new token pushes out the one before, however many come', async () => {
    const { tokens, verifies } = setup({ maxEntries: 1, maxStale: '1m' });
    const issued = [];
    for (let i = 0; i < 5; i++) issued.push((await tokens.issue({ user: 'ann', expiresIn: '1h' })).token);
    for (const token of issued) await check(tokens, token);
    assert.equal(verifies(), 5);
    await check(tokens, issued[4]!);
    assert.equal(verifies(), 5);
    for (const token of issued) await check(tokens, token);
    assert.equal(verifies(), 10);
  });

  test('a hit moves its entry to the newest end only once half the cache was added after it, and an entry in use is never the next dropped', async () => {
    const { tokens, verifies } = setup({ maxEntries: 4, maxStale: '1m' });
    const issued = [];
    for (let i = 0; i < 6; i++) issued.push((await tokens.issue({ user: 'ann', expiresIn: '1h' })).token);
    const [a, b, c, d, e, f] = issued as [string, string, string, string, string, string];
    for (const token of [a, b, c, d]) await check(tokens, token);
    await check(tokens, d); // a hit on the newest: nothing to move
    await check(tokens, e); // pushes out a, the oldest
    await check(tokens, b); // a hit on an old one: moved to the newest end
    await check(tokens, f); // pushes out c, now the oldest
    assert.equal(verifies(), 6);
    for (const token of [b, d, e, f]) await check(tokens, token);
    assert.equal(verifies(), 6);
    await check(tokens, a);
    await check(tokens, c);
    assert.equal(verifies(), 8);
  });

  test("a hit is answered in the event loop's check phase, as the store's answer comes in a later turn", async () => {
    const { tokens, verifies } = setup({ maxStale: '1m' });
    const { token } = await tokens.issue({ user: 'ann', expiresIn: '1h' });
    await check(tokens, token);
    const order: string[] = [];
    setImmediate(() => order.push('immediate queued before the check'));
    const hit = check(tokens, token).then(() => order.push('hit'));
    await Promise.resolve();
    order.push('microtasks');
    await hit;
    assert.equal(verifies(), 1);
    assert.deepEqual(order, ['microtasks', 'immediate queued before the check', 'hit']);
  });

  test('an entry is trusted for maxStale since the store confirmed it, then checked again', async () => {
    const { tokens, verifies, clock, store } = setup({ maxStale: 1000 });
    const { token, id } = await tokens.issue({ user: 'ann', expiresIn: '1h' });
    await check(tokens, token);
    // A change the library never heard of (a record deleted behind its back).
    await store.delete(id, Number.MAX_SAFE_INTEGER);
    clock.time += 999;
    assert.equal((await check(tokens, token)).ok, true);
    assert.equal(verifies(), 1);
    clock.time += 1;
    assert.equal((await check(tokens, token)).ok, false);
    assert.equal(verifies(), 2);
  });

  test("a sliding token's stored expiry keeps within a second of its last use plus its window", async () => {
    const { tokens, verifies, clock } = setup({ maxStale: '1h' });
    const { token, id } = await tokens.issue({ user: 'ann', autoRefresh: '10m' });
    let uses = 0;
    for (let step = 0; step < 100; step++) {
      clock.time += 150;
      assert.equal((await check(tokens, token)).ok, true);
      uses++;
      const stored = (await tokens.inspect(id))!.expiresAt.getTime();
      assert.ok(
        stored >= clock.time + 10 * MINUTE - 1000,
        `stored expiry ${clock.time + 10 * MINUTE - stored} ms short`,
      );
    }
    // 15 s of use, one store call a second at most (and at least one every 7 uses).
    assert.ok(verifies() <= 16 && verifies() >= uses / 7, `${verifies()} store calls`);
  });

  test('lastUsedAt is written as often as without a cache (once per touchInterval)', async () => {
    const { tokens, clock } = setup({ maxStale: '1h' }, { touchInterval: MINUTE });
    const { token, id } = await tokens.issue({ user: 'ann', expiresIn: '1d' });
    for (let step = 0; step < 60; step++) {
      clock.time += 10_000;
      assert.equal((await check(tokens, token)).ok, true);
      const lastUsed = (await tokens.inspect(id))!.lastUsedAt!.getTime();
      assert.ok(clock.time - lastUsed <= MINUTE, `lastUsedAt ${clock.time - lastUsed} ms old`);
    }
  });
});

describe('TokenService cache: invalidation', () => {
  test('revoke, revokeAll and rotation drop the token from every service on the store at once', async () => {
    const clock = { time: START };
    const { store, verifies } = countingStore(() => clock.time);
    const one = new TokenService({ store, cache: { maxStale: '1h' } });
    const two = new TokenService({ store, cache: { maxStale: '1h' } });
    const issued = [];
    for (let i = 0; i < 5; i++)
      issued.push(await one.issue({ user: i < 3 ? 'ann' : 'bob', expiresIn: '1d' }));
    const both = async (token: string) => [(await check(one, token)).ok, (await check(two, token)).ok];
    for (const { token } of issued) assert.deepEqual(await both(token), [true, true]);
    const filled = verifies();
    for (const { token } of issued) assert.deepEqual(await both(token), [true, true]);
    assert.equal(verifies(), filled);

    assert.equal(await two.revoke(issued[0]!.id), true);
    assert.deepEqual(await both(issued[0]!.token), [false, false]);
    assert.equal(await one.revokeAll('ann'), 2);
    for (const { token } of issued.slice(1, 3)) assert.deepEqual(await both(token), [false, false]);
    // Rotation with an overlap brings the hard limit forward: caches must not keep the old one.
    const before = verifies();
    await one.rotate(issued[3]!.id, { overlap: '1m' });
    const after = await check(two, issued[3]!.token);
    assert.equal(verifies(), before + 1);
    assert.ok(after.ok);
    assert.equal(after.token.hardExpiresAt, clock.time + MINUTE);
    clock.time += MINUTE;
    assert.deepEqual(await both(issued[3]!.token), [false, false]);
    await two.rotate(issued[4]!.id);
    assert.deepEqual(await both(issued[4]!.token), [false, false]);
  });

  test('a service without a cache (the CLI, an admin task) still announces its revocations', async () => {
    const store = new MemoryTokenStore({ now: () => START });
    const cached = new TokenService({ store, cache: { maxStale: '1h' } });
    const admin = new TokenService({ store });
    const { token, id } = await admin.issue({ user: 'ann', expiresIn: '1d' });
    assert.equal((await check(cached, token)).ok, true);
    assert.equal(await admin.revoke(id), true);
    assert.equal((await check(cached, token)).ok, false);
  });

  // A reply lost after the write (a connection dropped, a deadline) leaves the change applied in the
  // store: the call fails, but this process must not go on accepting the token from its cache.
  test('a revocation that fails after the store may have applied it still drops the token here', async () => {
    const clock = { time: START };
    const store = new MemoryTokenStore({ now: () => clock.time });
    const tokens = new TokenService({ store, cache: { maxStale: '1h' } });
    const lost = new Error('connection lost after the write');
    const applyThenFail =
      <A extends unknown[]>(call: (...args: A) => Promise<unknown>) =>
      async (...args: A): Promise<never> => {
        await call(...args);
        throw lost;
      };
    const remove = store.delete.bind(store);
    const limit = store.limit.bind(store);
    const issued = [];
    for (let i = 0; i < 4; i++)
      issued.push(await tokens.issue({ user: i < 3 ? 'ann' : 'bob', expiresIn: '1d' }));
    for (const { token } of issued) assert.equal((await check(tokens, token)).ok, true);
    store.delete = applyThenFail(remove);
    store.limit = applyThenFail(limit);

    await assert.rejects(tokens.revoke(issued[0]!.id), { name: 'StoreUnavailableError' });
    assert.equal((await check(tokens, issued[0]!.token)).ok, false);
    await assert.rejects(tokens.rotate(issued[1]!.id), { name: 'StoreUnavailableError' });
    assert.equal((await check(tokens, issued[1]!.token)).ok, false);
    await assert.rejects(tokens.revokeAll('ann'));
    assert.equal((await check(tokens, issued[2]!.token)).ok, false);
    await assert.rejects(tokens.rotate(issued[3]!.id, { overlap: '1m' }), { name: 'StoreUnavailableError' });
    clock.time += MINUTE;
    assert.equal((await check(tokens, issued[3]!.token)).ok, false);
  });

  test('a message is read as ids only: anything else in it is ignored', () => {
    assert.deepEqual(decodeInvalidation('0123456789abcdef,../x,,0123456789ABCDEF,fedcba9876543210'), [
      '0123456789abcdef',
      'fedcba9876543210',
    ]);
    assert.deepEqual(decodeInvalidation(encodeInvalidation(['0123456789abcdef'])), ['0123456789abcdef']);
  });

  test('a check that began before a change cannot put the old record back', async () => {
    const store = new MemoryTokenStore({ now: () => START });
    const tokens = new TokenService({ store, cache: { maxStale: '1h' } });
    const { token, id } = await tokens.issue({ user: 'ann', expiresIn: '1d' });
    const verify = store.verify.bind(store);
    let release: () => void = () => {};
    store.verify = (...args) =>
      new Promise((resolve) => {
        release = () => resolve(verify(...args));
      });
    const slow = check(tokens, token);
    // The store has read the record; a change is heard of before its answer comes back.
    await store.invalidations.publish([id]);
    release();
    assert.equal((await slow).ok, true);
    store.verify = verify;
    await store.delete(id, Number.MAX_SAFE_INTEGER);
    assert.equal((await check(tokens, token)).ok, false);
  });

  test('while its channel is unhealthy the cache is empty and bypassed; healthy again, it fills again', async () => {
    const store = new MemoryTokenStore({ now: () => START });
    let health: (healthy: boolean) => void = () => {};
    const channel: InvalidationChannel = {
      publish: async () => {},
      subscribe: (_onIds, onHealth) => {
        health = onHealth;
        return { close: async () => {} };
      },
    };
    Object.defineProperty(store, 'invalidations', { value: channel });
    const verify = store.verify.bind(store);
    let calls = 0;
    store.verify = (...args) => {
      calls++;
      return verify(...args);
    };
    const tokens = new TokenService({ store, cache: { maxStale: '1h' } });
    const { token } = await tokens.issue({ user: 'ann', expiresIn: '1d' });
    // Not subscribed yet: nothing is cached.
    await check(tokens, token);
    await check(tokens, token);
    assert.equal(calls, 2);
    health(true);
    await check(tokens, token);
    await check(tokens, token);
    assert.equal(calls, 3);
    health(false);
    for (let i = 0; i < 3; i++) assert.equal((await check(tokens, token)).ok, true);
    assert.equal(calls, 6);
    health(true);
    await check(tokens, token);
    await check(tokens, token);
    assert.equal(calls, 7);
  });
});
