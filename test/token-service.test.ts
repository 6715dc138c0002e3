import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { MemoryTokenStore } from '../adapters/memory';
import { RedisTokenStore } from '../adapters/redis';
import {
  InvalidDurationError,
  InvalidScopeError,
  InvalidTokenOptionsError,
  ScopeNotAllowedError,
  StoreUnavailableError,
  TokenService,
  type TokenStore,
  UnknownUserError,
} from '../lib/index';
import { checksum, generateToken } from '../lib/token-format';
import { connectTestRedis, deleteKeys, scanKeys, uniquePrefix } from './support/redis';
import { monitorTestRedis } from './support/redis-monitor';

const MINUTE = 60_000;

describe('TokenService on the memory store (injected clock)', () => {
  let time = Date.UTC(2026, 0, 1);
  const store = new MemoryTokenStore({ now: () => time });
  const tokens = new TokenService({ store });

  test('issue returns the token once, with its public record', async () => {
    const issued = await tokens.issue({
      user: 'admin',
      expiresIn: '24h',
      label: 'backup',
      scopes: ['node:abc:wr'],
    });
    assert.match(issued.token, /^pat_/);
    assert.equal(issued.user, 'admin');
    assert.equal(issued.label, 'backup');
    assert.deepEqual(issued.scopes, ['node:abc:rw']);
    assert.equal(issued.expiresAt.getTime(), time + 24 * 60 * MINUTE);
    assert.equal(issued.hardExpiresAt?.getTime(), time + 24 * 60 * MINUTE);
    assert.equal(issued.autoRefresh, null);
    const { token: _secret, ...info } = issued;
    assert.deepEqual(await tokens.inspect(issued.id), info);
  });

  test('a hard-limit token works until its limit, then never again', async () => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    time += 59 * MINUTE;
    assert.ok(await tokens.verify(token));
    time += 2 * MINUTE;
    assert.equal(await tokens.verify(token), null);
  });

  test('a sliding token lives as long as it is used within its window', async () => {
    const { token, id } = await tokens.issue({ user: 'admin', autoRefresh: '10m' });
    for (let i = 0; i < 10; i++) {
      time += 9 * MINUTE;
      const info = await tokens.verify(token);
      assert.equal(info?.expiresAt.getTime(), time + 10 * MINUTE);
    }
    time += 11 * MINUTE;
    assert.equal(await tokens.verify(token), null);
    assert.equal(await tokens.inspect(id), null);
  });

  test('sliding + hard limit: refreshed, but never past the cap (Cells lets -a silently win)', async () => {
    const { token, hardExpiresAt } = await tokens.issue({
      user: 'admin',
      autoRefresh: '10m',
      expiresIn: '25m',
    });
    time += 9 * MINUTE;
    assert.equal((await tokens.verify(token))?.expiresAt.getTime(), time + 10 * MINUTE);
    time += 9 * MINUTE;
    assert.equal((await tokens.verify(token))?.expiresAt.getTime(), hardExpiresAt?.getTime());
    time += 7 * MINUTE;
    assert.equal(await tokens.verify(token), null);
  });

  test('inspect never refreshes', async () => {
    const { token, id } = await tokens.issue({ user: 'admin', autoRefresh: '10m' });
    const issuedAt = time;
    time += 9 * MINUTE;
    assert.equal((await tokens.inspect(id))?.expiresAt.getTime(), issuedAt + 10 * MINUTE);
    time += 2 * MINUTE;
    assert.equal(await tokens.verify(token), null);
  });

  test('Basic: the login must be the owner', async () => {
    // Only the secret's holder gets as far as the store: the check's plan applies to the record as
    // for any check (the service, not the store, compares the login), and the request is refused.
    const { token, id } = await tokens.issue({ user: 'alice', autoRefresh: '10m' });
    time += MINUTE;
    assert.deepEqual(await tokens.authenticate(token, { login: 'bob' }), {
      ok: false,
      reason: 'user_mismatch',
      tokenId: id,
      login: 'bob',
    });
    assert.ok(await tokens.verify(token, { login: 'alice' }));
  });

  test('rejection reasons: malformed, bad_checksum, unknown, revoked', async () => {
    const { token, id } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    assert.deepEqual(await tokens.authenticate('nope'), { ok: false, reason: 'malformed', login: undefined });
    const typo = token.slice(0, 20) + (token[20] === 'a' ? 'b' : 'a') + token.slice(21);
    assert.deepEqual(await tokens.authenticate(typo), {
      ok: false,
      reason: 'bad_checksum',
      login: undefined,
    });
    // A live id around another secret (checksum recomputed): its id is not the hash of its secret
    // and terms, so it is refused as unknown without any lookup.
    const body = `pat_${id}${generateToken('pat_', { autoRefresh: null, hardExpiresAt: Date.now() + 60_000 }).token.slice(20, -6)}`;
    assert.deepEqual(await tokens.authenticate(body + checksum(body)), {
      ok: false,
      reason: 'unknown',
      login: undefined,
    });
    await tokens.revoke(id);
    assert.deepEqual(await tokens.authenticate(token), {
      ok: false,
      reason: 'revoked',
      tokenId: id,
      login: undefined,
    });
    const unknown = generateToken('pat_', { autoRefresh: 600_000, hardExpiresAt: null }); // well-formed, never issued
    assert.equal((await tokens.authenticate(unknown.token)).ok, false);
    assert.equal(((await tokens.authenticate(unknown.token)) as { reason: string }).reason, 'unknown');
  });

  test('list: newest first, live only, no secret material', async () => {
    const owner = 'lister';
    const a = await tokens.issue({ user: owner, expiresIn: '1h', label: 'a' });
    time += 1000;
    const b = await tokens.issue({ user: owner, autoRefresh: '10m', label: 'b' });
    time += 1000;
    const listed = await tokens.list(owner);
    assert.deepEqual(
      listed.map((t) => t.label),
      ['b', 'a'],
    );
    assert.ok(!JSON.stringify(listed).includes(a.token) && !JSON.stringify(listed).includes(b.token));
    assert.ok(listed.every((t) => !('secretHash' in t) && !('token' in t)));
    time += 11 * MINUTE;
    assert.deepEqual(
      (await tokens.list(owner)).map((t) => t.label),
      ['a'],
    );
  });

  test('revoke and revokeAll', async () => {
    const one = await tokens.issue({ user: 'rev', expiresIn: '1h' });
    const two = await tokens.issue({ user: 'rev', expiresIn: '1h' });
    const other = await tokens.issue({ user: 'keep', expiresIn: '1h' });
    assert.equal(await tokens.revoke(one.id), true);
    assert.equal(await tokens.revoke(one.id), false);
    assert.equal(await tokens.revoke('not-an-id'), false);
    assert.equal(await tokens.verify(one.token), null);
    assert.equal(await tokens.revokeAll('rev'), 1);
    assert.equal(await tokens.verify(two.token), null);
    assert.ok(await tokens.verify(other.token));
  });

  test('bad options are clear errors and issue nothing', async () => {
    const before = (await tokens.list('bad')).length;
    await assert.rejects(tokens.issue({ user: 'bad' }), InvalidTokenOptionsError);
    await assert.rejects(tokens.issue({ user: 'bad', expiresIn: '1.5d' }), InvalidDurationError);
    await assert.rejects(tokens.issue({ user: 'bad', autoRefresh: '-5m' }), InvalidDurationError);
    await assert.rejects(
      tokens.issue({ user: 'bad', expiresIn: '1h', scopes: ['node:x:edit'] }),
      InvalidScopeError,
    );
    await assert.rejects(tokens.issue({ user: '', expiresIn: '1h' }), InvalidTokenOptionsError);
    await assert.rejects(
      tokens.issue({ user: 'bad', expiresIn: '1h', label: 'x\ny' }),
      InvalidTokenOptionsError,
    );
    assert.equal((await tokens.list('bad')).length, before);
  });

  test('a timeout no timer can wait (over 2^31 - 1 ms) or not positive is a TypeError naming it', () => {
    for (const timeout of [2 ** 31, Number.POSITIVE_INFINITY, 0, -1, Number.NaN]) {
      assert.throws(() => new TokenService({ store, timeout }), { name: 'TypeError', message: /timeout/ });
    }
    assert.equal(new TokenService({ store, timeout: 2 ** 31 - 1 }).timeout, 2 ** 31 - 1);
  });

  test('a malformed token never reaches the store', async () => {
    let calls = 0;
    const counting: TokenStore = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (property !== 'now') calls++;
          return value.apply(target, args);
        };
      },
    });
    const service = new TokenService({ store: counting });
    const { token } = await service.issue({ user: 'admin', expiresIn: '1h' });
    calls = 0;
    assert.equal(await service.verify(token.slice(0, -1)), null);
    assert.equal(await service.verify(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`), null);
    assert.equal(await service.verify('Bearer something'), null);
    assert.equal(calls, 0);
  });
});

describe('TokenService hooks: resolveUser and canAccess', () => {
  const users = new Map([['admin', { login: 'admin', readable: new Set(['docs']) }]]);
  const tokens = new TokenService({
    store: new MemoryTokenStore(),
    resolveUser: (login) => users.get(login) ?? null,
    canAccess: (user, nodeId, permission) =>
      permission === 'r' && (user as { readable: Set<string> }).readable.has(nodeId),
  });

  test('refuses an unknown user', async () => {
    await assert.rejects(tokens.issue({ user: 'ghost', expiresIn: '1h' }), UnknownUserError);
  });

  test('refuses a scope on a node the user cannot reach in the first place', async () => {
    await assert.rejects(
      tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:private:r'] }),
      ScopeNotAllowedError,
    );
    await assert.rejects(
      tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:rw'] }),
      ScopeNotAllowedError,
    );
    assert.ok(await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] }));
  });
});

describe('TokenService on Redis', () => {
  const client = connectTestRedis();
  const prefix = uniquePrefix('service');
  const store = new RedisTokenStore(client, { prefix });
  const tokens = new TokenService({ store });
  after(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });

  test('the sliding window is the key TTL: PTTL = min(window, hard limit - now) after a verify', async () => {
    const sliding = await tokens.issue({ user: 'admin', autoRefresh: '10m' });
    await tokens.verify(sliding.token);
    const pttl = await client.pttl(store.tokenKey(sliding.id));
    assert.ok(pttl > 10 * MINUTE - 1000 && pttl <= 10 * MINUTE, `PTTL ${pttl}`);

    const capped = await tokens.issue({ user: 'admin', autoRefresh: '10m', expiresIn: '2m' });
    await tokens.verify(capped.token);
    const cappedTtl = await client.pttl(store.tokenKey(capped.id));
    assert.ok(cappedTtl > 2 * MINUTE - 1000 && cappedTtl <= 2 * MINUTE, `PTTL ${cappedTtl}`);

    const hard = await tokens.issue({ user: 'admin', expiresIn: '24h' });
    const hardTtl = await client.pttl(store.tokenKey(hard.id));
    assert.ok(hardTtl > 24 * 60 * MINUTE - 1000 && hardTtl <= 24 * 60 * MINUTE);
  });

  test('inspect does not change the PTTL', async () => {
    const sliding = await tokens.issue({ user: 'admin', autoRefresh: '10m' });
    await client.pexpire(store.tokenKey(sliding.id), 5 * MINUTE);
    await tokens.inspect(sliding.id);
    const pttl = await client.pttl(store.tokenKey(sliding.id));
    assert.ok(pttl <= 5 * MINUTE && pttl > 5 * MINUTE - 1000);
  });

  test('Redis holds the hash only: no token or secret appears in any key or value', async () => {
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h', label: 'scan me' });
    await tokens.verify(issued.token);
    const secret = issued.token.slice(4 + 16, 4 + 16 + 43);
    for (const key of await scanKeys(client, prefix)) {
      assert.ok(!key.includes(secret));
      const type = await client.type(key);
      const values =
        type === 'string' ? [(await client.get(key)) ?? ''] : await client.zrange(key, '0', '-1');
      for (const value of values) assert.ok(!value.includes(secret) && !value.includes(issued.token), key);
    }
  });

  test('one native Redis command per verify (GETEX for a sliding token), none for a malformed token', async () => {
    const issued = await tokens.issue({ user: 'admin', autoRefresh: '10m' });
    const monitor = await monitorTestRedis();
    await tokens.verify(issued.token);
    await tokens.verify(issued.token);
    await tokens.verify('pat_garbage');
    await tokens.verify(issued.token.slice(0, -1) + (issued.token.endsWith('A') ? 'B' : 'A'));
    await monitor.settle(client);
    monitor.stop();
    // Commands run inside the Lua script show up too, with "lua" as their source.
    const commands = monitor.commands
      .filter(({ source, args }) => source !== 'lua' && args.some((arg) => arg.startsWith(prefix)))
      .map(({ args }) => args[0]!.toLowerCase());
    // The first use is also written down once (a script); later ones are a single GETEX each.
    assert.deepEqual(commands, ['getex', 'evalsha', 'getex']);
  });

  test('a sliding token: one GETEX per check, and its use written down once per touch interval', async () => {
    // The app's clock runs ahead of Redis' by `ahead`: it moves the touch interval, not Redis' TTLs.
    let ahead = 0;
    const clocked = new TokenService({
      store: new RedisTokenStore(client, { prefix, now: () => Date.now() + ahead }),
      touchInterval: 60_000,
    });
    const issued = await clocked.issue({ user: 'admin', autoRefresh: '10m' });
    const commandsOf = async (use: () => Promise<unknown>) => {
      const monitor = await monitorTestRedis();
      await use();
      await monitor.settle(client);
      monitor.stop();
      return monitor.commands
        .filter(({ source, args }) => source !== 'lua' && args.some((arg) => arg.startsWith(prefix)))
        .map(({ args }) => args[0]!.toLowerCase());
    };
    const stored = async () => (await client.get(store.tokenKey(issued.id)))?.split('\t')[7];
    ahead = 30_000;
    let usedAt = 0;
    const first = await commandsOf(async () => {
      usedAt = Date.now() + ahead;
      assert.ok(await clocked.verify(issued.token));
    });
    assert.deepEqual(first, ['getex', 'evalsha'], 'the first use is written down');
    const written = Number(await stored());
    assert.ok(written >= usedAt && written - usedAt < 5000, `lastUsedAt ${written} ~ ${usedAt}`);
    assert.deepEqual(
      await commandsOf(async () => assert.ok(await clocked.verify(issued.token))),
      ['getex'],
      'within the interval: one GETEX',
    );
    assert.equal(Number(await stored()), written);
    assert.equal((await clocked.inspect(issued.id))?.lastUsedAt?.getTime(), written, 'as stored');
    ahead += 61_000;
    assert.deepEqual(
      await commandsOf(async () => assert.ok(await clocked.verify(issued.token))),
      ['getex', 'evalsha'],
      'after the interval: written again',
    );
    assert.ok(Number(await stored()) >= written + 61_000);
    const unused = await clocked.issue({ user: 'admin', autoRefresh: '10m' });
    assert.equal((await clocked.inspect(unused.id))?.lastUsedAt, null, 'never used: none');
  });

  test('a store that does not answer in time is StoreUnavailableError, not a hang', async () => {
    const silent: TokenStore = {
      create: () => new Promise(() => {}),
      verify: () => new Promise(() => {}),
      get: () => new Promise(() => {}),
      listPage: () => new Promise(() => {}),
      delete: () => new Promise(() => {}),
      limit: () => new Promise(() => {}),
    };
    const slow = new TokenService({ store: silent, timeout: 50 });
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    await assert.rejects(slow.verify(issued.token), StoreUnavailableError);
    await assert.rejects(slow.issue({ user: 'admin', expiresIn: '1h' }), (error: unknown) => {
      return error instanceof StoreUnavailableError && !String(error.message).includes('pat_');
    });
  });
});
