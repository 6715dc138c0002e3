import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { MemoryTokenStore, type MemoryTokenStoreOptions } from '../adapters/memory';
import { PostgresTokenStore, type PostgresTokenStoreOptions } from '../adapters/postgres';
import { RedisTokenStore, type RedisTokenStoreOptions } from '../adapters/redis';
import type { DurableRevocationOptions } from '../adapters/redis-durable-revocation';

import {
  BasicTokenStrategy,
  BearerTokenStrategy,
  type BearerTokenStrategyOptions,
  type ForwardAuthOptions,
  forwardAuth,
  type IdentityHeaders,
  type IntrospectionRouterOptions,
  introspectionRouter,
  type LeakReportRouterOptions,
  leakReportRouter,
  type NodePermissionOptions,
  OptionsError,
  type PersonalTokenAuthOptions,
  personalTokenAuth,
  type RevokeLeakedOptions,
  requireNodePermission,
  type SecretScanningReceiverOptions,
  secretScanningReceiver,
  type ThrottleOptions,
  type TokenCacheOptions,
  type TokenRouterOptions,
  TokenService,
  type TokenServiceOptions,
  type TokenStrategyOptions,
  tokenRouter,
} from '../lib/index';
import { nearestName } from '../lib/option-names';
import { type CheckTokenStoreOptions, checkTokenStore } from '../testing/index';
import { TEST_REDIS_URL } from './support/redis';

// Every client and pool is made with nothing to connect until a command: constructors never send one.
const clients: Redis[] = [];
const pools: Pool[] = [];
after(async () => {
  for (const client of clients) client.disconnect();
  for (const pool of pools) await pool.end();
});
const lazyRedis = () => {
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  clients.push(client);
  return client;
};
const idlePool = () => {
  const pool = new Pool({ connectionString: 'postgres://127.0.0.1:1/none' });
  pools.push(pool);
  return pool;
};
const service = () => new TokenService({ store: new MemoryTokenStore() });
const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const fn = () => () => undefined;

/** A valid value for every option of `Options`: the type makes the table name them all, and only them. */
type ValidValues<Options> = { readonly [Name in keyof Options]-?: () => Options[Name] };

interface EntryPoint {
  /** How messages name the constructor or factory. */
  where: string;
  /** The option holding the sub-object under test, if it is one. */
  within?: string;
  /** Calls the entry point with these options, untyped, as plain JavaScript would. */
  call(options: unknown): unknown;
  /** Options always given, valid (what the entry point requires). */
  base: () => Record<string, unknown>;
  valid: Record<string, () => unknown>;
  /** Options that are never given a value with `base` (they conflict with one of it). */
  onlyUndefined?: readonly string[];
  /** Values that mean "off" or "the default" where an object is expected. */
  off?: readonly unknown[];
  /** A misspelt name, and the one meant. */
  misspelt: [string, string];
}

function entry<Options>(point: Omit<EntryPoint, 'valid'> & { valid: ValidValues<Options> }): EntryPoint {
  return point as EntryPoint;
}

const ENTRY_POINTS: readonly EntryPoint[] = [
  entry<PersonalTokenAuthOptions>({
    where: 'personalTokenAuth',
    call: (options) => personalTokenAuth(options as never),
    base: () => ({ tokens: service() }),
    valid: {
      tokens: service,
      store: () => new MemoryTokenStore(),
      resolveUser: fn,
      resolveAncestors: () => () => [],
      schemes: () => ['basic'],
      realm: () => 'Files',
      optional: () => true,
      retryAfter: () => 5,
      onEvent: fn,
      throttle: () => ({ maxFailures: 5, window: '1m' }),
    },
    onlyUndefined: ['store'],
    misspelt: ['token', 'tokens'],
  }),
  entry<TokenServiceOptions>({
    where: 'TokenService',
    call: (options) => new TokenService(options as never),
    base: () => ({ store: new MemoryTokenStore() }),
    valid: {
      store: () => new MemoryTokenStore(),
      tokenPrefix: () => 'app_',
      now: () => Date.now,
      timeout: () => 500,
      touchInterval: () => 1000,
      resolveUser: fn,
      canAccess: () => () => true,
      trackIp: () => true,
      maxTokensPerUser: () => 10,
      maxScopesPerToken: () => 5,
      maxExpiresIn: () => '90d',
      maxAutoRefresh: () => 86_400_000,
      onEvent: fn,
      cache: () => ({ maxEntries: 10 }),
      onClose: () => async () => {},
    },
    misspelt: ['maxTokenPerUser', 'maxTokensPerUser'],
  }),
  entry<TokenCacheOptions>({
    where: 'TokenService',
    within: 'cache',
    call: (cache) => new TokenService({ store: new MemoryTokenStore(), cache: cache as never }),
    base: () => ({}),
    valid: { maxEntries: () => 100, maxStale: () => '2s' },
    off: [undefined, null, false],
    misspelt: ['maxEntrys', 'maxEntries'],
  }),
  entry<ForwardAuthOptions>({
    where: 'forwardAuth',
    call: (options) => forwardAuth(options as never),
    base: () => ({ tokens: service() }),
    valid: {
      tokens: service,
      resolveUser: fn,
      resolveNode: () => () => null,
      resolveAncestors: () => () => [],
      headers: () => ({ user: 'X-User' }),
      schemes: () => ['bearer'],
      realm: () => 'Proxy',
      retryAfter: () => 2,
      onEvent: fn,
      throttle: () => ({ maxFailures: 3, window: 60_000 }),
    },
    misspelt: ['resolvenode', 'resolveNode'],
  }),
  entry<IdentityHeaders>({
    where: 'forwardAuth',
    within: 'headers',
    call: (headers) => forwardAuth({ tokens: service(), headers: headers as never }),
    base: () => ({}),
    valid: { user: () => 'X-User', tokenId: () => 'X-Token', scopes: () => 'X-Scopes' },
    off: [undefined],
    misspelt: ['tokenID', 'tokenId'],
  }),
  entry<IntrospectionRouterOptions>({
    where: 'introspectionRouter',
    call: (options) => introspectionRouter(options as never),
    base: () => ({ tokens: service() }),
    valid: {
      tokens: service,
      clients: () => ({ app: 'secret' }),
      touch: () => true,
      throttle: () => ({ maxFailures: 3, window: '1m' }),
      realm: () => 'Services',
      retryAfter: () => 2,
      bodyLimit: () => 4096,
    },
    misspelt: ['client', 'clients'],
  }),
  entry<LeakReportRouterOptions>({
    where: 'leakReportRouter',
    call: (options) => leakReportRouter(options as never),
    base: () => ({ tokens: service() }),
    valid: {
      tokens: service,
      throttle: () => ({ maxFailures: 3, window: '1m' }),
      retryAfter: () => 2,
      bodyLimit: () => 1024,
    },
    misspelt: ['throtle', 'throttle'],
  }),
  entry<SecretScanningReceiverOptions>({
    where: 'secretScanningReceiver',
    call: (options) => secretScanningReceiver(options as never),
    base: () => ({ tokens: service(), publicKeys: { github: signingKey } }),
    valid: {
      tokens: service,
      publicKeys: () => new Map([['github', signingKey]]),
      keyTtl: () => '2h',
      refetchInterval: () => 30_000,
      keyFetchTimeout: () => '5s',
      bodyLimit: () => 65_536,
      maxMatches: () => 10,
      retryAfter: () => 2,
    },
    misspelt: ['maxMatch', 'maxMatches'],
  }),
  entry<RevokeLeakedOptions>({
    where: 'revokeLeaked',
    call: (options) => service().revokeLeaked('pat_x', options as never),
    base: () => ({ source: 'a leak report' }),
    valid: { source: () => 'https://github.com/octocat/app/blob/main/.env' },
    misspelt: ['sourse', 'source'],
  }),
  // The throttle of every factory that takes one (forwardAuth's passes it on to the middleware).
  ...[personalTokenAuth, forwardAuth, introspectionRouter, leakReportRouter].map((factory) =>
    entry<ThrottleOptions>({
      where: factory.name,
      within: 'throttle',
      call: (throttle) => factory({ tokens: service(), throttle: throttle as never }),
      base: () => ({ maxFailures: 5, window: '1m' }),
      valid: { maxFailures: () => 5, window: () => '1m' },
      off: [undefined, null, false],
      misspelt: ['maxFailure', 'maxFailures'],
    }),
  ),
  entry<TokenRouterOptions>({
    where: 'tokenRouter',
    call: (options) => tokenRouter(options as never),
    base: () => ({ tokens: service() }),
    valid: {
      tokens: service,
      getLogin: () => () => 'ann',
      retryAfter: () => 3,
      bodyLimit: () => 4096,
    },
    misspelt: ['bodyLimt', 'bodyLimit'],
  }),
  entry<BearerTokenStrategyOptions>({
    where: 'BearerTokenStrategy',
    call: (options) => new BearerTokenStrategy(options as never),
    base: () => ({ tokens: service() }),
    valid: { tokens: service, realm: () => 'Files', resolveUser: fn, allowQueryToken: () => true },
    misspelt: ['allowQueryTokens', 'allowQueryToken'],
  }),
  entry<TokenStrategyOptions>({
    where: 'BasicTokenStrategy',
    call: (options) => new BasicTokenStrategy(options as never),
    base: () => ({ tokens: service() }),
    valid: { tokens: service, realm: () => 'Files', resolveUser: fn },
    misspelt: ['relm', 'realm'],
  }),
  entry<RedisTokenStoreOptions>({
    where: 'RedisTokenStore',
    call: (options) => new RedisTokenStore(lazyRedis(), options as never),
    base: () => ({}),
    valid: { prefix: () => 'test:options:', now: () => Date.now, durableRevocation: () => false },
    off: [undefined],
    misspelt: ['prefx', 'prefix'],
  }),
  entry<DurableRevocationOptions>({
    where: 'RedisTokenStore',
    within: 'durableRevocation',
    call: (durable) => new RedisTokenStore(lazyRedis(), { durableRevocation: durable as never }),
    base: () => ({}),
    valid: { replicas: () => 1, timeout: () => 500 },
    off: [undefined, null, false],
    misspelt: ['replica', 'replicas'],
  }),
  entry<PostgresTokenStoreOptions>({
    where: 'PostgresTokenStore',
    call: (options) => new PostgresTokenStore(idlePool(), options as never),
    base: () => ({}),
    valid: { table: () => 'app_tokens', now: () => Date.now },
    off: [undefined],
    misspelt: ['tabel', 'table'],
  }),
  entry<MemoryTokenStoreOptions>({
    where: 'MemoryTokenStore',
    call: (options) => new MemoryTokenStore(options as never),
    base: () => ({}),
    valid: { now: () => Date.now },
    off: [undefined],
    misspelt: ['Now', 'now'],
  }),
  entry<NodePermissionOptions>({
    where: 'requireNodePermission',
    call: (options) => requireNodePermission(() => 'docs', 'r', options as never),
    base: () => ({}),
    valid: { resolveAncestors: () => () => [] },
    off: [undefined],
    misspelt: ['resolveAncestor', 'resolveAncestors'],
  }),
  entry<CheckTokenStoreOptions>({
    where: 'checkTokenStore',
    // No case runs with `cases: []`: the harness is never asked for.
    call: (options) =>
      checkTokenStore(() => Promise.reject(new Error('no case should run')), options as never),
    base: () => ({ cases: [] }),
    valid: { cases: () => [], caseTimeout: () => 1000, invalidationBound: () => 1000 },
    misspelt: ['caseTimeOut', 'caseTimeout'],
  }),
];

const label = (point: EntryPoint) => (point.within ? `${point.where} ${point.within}` : point.where);
const path = (point: EntryPoint, name: string) => (point.within ? `${point.within}.${name}` : name);

/** What calling the entry point threw (or rejected with), or undefined when it accepted the options. */
async function outcomeOf(point: EntryPoint, options: unknown): Promise<unknown> {
  try {
    await point.call(options);
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Options with an own key of any name, `__proto__` included (a literal would set the prototype). */
const withKey = (base: Record<string, unknown>, key: string, value: unknown) => {
  const options = { ...base };
  Object.defineProperty(options, key, { value, enumerable: true, configurable: true, writable: true });
  return options;
};

describe('a misspelt option is a TypeError that names it and the option meant', () => {
  for (const point of ENTRY_POINTS) {
    test(label(point), async () => {
      const [typo, meant] = point.misspelt;
      const error = await outcomeOf(point, { ...point.base(), [typo]: point.valid[meant]!() });
      assert.ok(error instanceof TypeError, String(error));
      assert.ok(error instanceof OptionsError);
      assert.equal(error.code, 'ERR_UNKNOWN_OPTION');
      assert.deepEqual(error.options, [path(point, typo)]);
      assert.equal(
        error.message,
        `${point.where}: unknown option "${path(point, typo)}" — did you mean "${path(point, meant)}"?`,
      );
    });
  }
});

describe('options that are no object are a TypeError', () => {
  for (const point of ENTRY_POINTS) {
    test(label(point), async () => {
      const off = point.off ?? [];
      // A Promise (options not awaited), a Map or a Date has no own keys: it would pass as empty options.
      const objects = [Promise.resolve({}), new Map([['tokens', 'pat_x']]), new Date()];
      for (const options of [null, 'pat_x', ['tokens'], 42, true, () => ({}), ...objects]) {
        if (off.includes(options)) continue;
        const error = await outcomeOf(point, options);
        assert.ok(error instanceof OptionsError, `${String(options)}: ${String(error)}`);
        assert.equal(error.code, 'ERR_OPTIONS_NOT_OBJECT');
        assert.ok(error instanceof TypeError);
        // What was given is described, never repeated: it could be a token passed in the wrong place.
        assert.doesNotMatch(error.message, /pat_x/);
      }
      for (const options of off) assert.equal(await outcomeOf(point, options), undefined, String(options));
    });
  }
});

describe('property: every name an entry point does not know is refused, whatever its value', () => {
  for (const point of ENTRY_POINTS) {
    test(label(point), async () => {
      const known = Object.keys(point.valid);
      const name = fc
        .oneof(
          fc.string({ maxLength: 30 }),
          fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty'),
          fc.constantFrom(...known).map((name) => `${name}s`),
          fc.constantFrom(...known).map((name) => name.toUpperCase()),
        )
        .filter((name) => !known.includes(name));
      await fc.assert(
        fc.asyncProperty(name, fc.anything(), async (key, value) => {
          const error = await outcomeOf(point, withKey(point.base(), key, value));
          assert.ok(error instanceof OptionsError, String(error));
          assert.equal(error.code, 'ERR_UNKNOWN_OPTION');
          assert.deepEqual(error.options, [path(point, key)]);
        }),
        { numRuns: 100 },
      );
    });
  }
});

describe('property: every name an entry point knows is accepted, with a valid value or undefined', () => {
  for (const point of ENTRY_POINTS) {
    test(label(point), async () => {
      const names = Object.keys(point.valid);
      const given = fc.constantFrom('absent', 'undefined', 'valid');
      await fc.assert(
        fc.asyncProperty(fc.tuple(...names.map(() => given)), async (choices) => {
          const options: Record<string, unknown> = {};
          names.forEach((name, at) => {
            const choice =
              point.onlyUndefined?.includes(name) && choices[at] === 'valid' ? 'undefined' : choices[at];
            if (choice === 'undefined') options[name] = undefined;
            if (choice === 'valid') options[name] = point.valid[name]!();
          });
          // What the entry point requires stays given, and valid.
          Object.assign(options, point.base());
          const error = await outcomeOf(point, options);
          assert.equal(error, undefined, `${JSON.stringify(Object.keys(options))}: ${String(error)}`);
        }),
        { numRuns: 60 },
      );
    });
  }
});

describe('the types refuse a misspelt name too', () => {
  // Each call is the one a TypeScript user would write; the compiler refuses it (the
  // `@ts-expect-error` fails the typecheck if it did not), and so does the entry point at run time.
  const tokens = service();
  test('each entry point', async () => {
    const refusals: (() => unknown)[] = [
      // @ts-expect-error: no option "token"
      () => personalTokenAuth({ token: tokens }),
      // @ts-expect-error: no option "maxFailure"
      () => personalTokenAuth({ tokens, throttle: { maxFailure: 5, window: '1m' } }),
      // @ts-expect-error: no option "maxTokenPerUser"
      () => new TokenService({ store: new MemoryTokenStore(), maxTokenPerUser: 5 }),
      // @ts-expect-error: no option "maxEntrys"
      () => new TokenService({ store: new MemoryTokenStore(), cache: { maxEntrys: 5 } }),
      // @ts-expect-error: no option "resolvenode"
      () => forwardAuth({ tokens, resolvenode: () => null }),
      // @ts-expect-error: no option "tokenID"
      () => forwardAuth({ tokens, headers: { tokenID: 'X-Token' } }),
      // @ts-expect-error: no option "bodyLimt"
      () => tokenRouter({ tokens, bodyLimt: 10 }),
      // @ts-expect-error: no option "allowQueryTokens"
      () => new BearerTokenStrategy({ tokens, allowQueryTokens: true }),
      // @ts-expect-error: no option "allowQueryToken" on the Basic strategy
      () => new BasicTokenStrategy({ tokens, allowQueryToken: true }),
      // @ts-expect-error: no option "prefx"
      () => new RedisTokenStore(lazyRedis(), { prefx: 'app:' }),
      // @ts-expect-error: no option "replica"
      () => new RedisTokenStore(lazyRedis(), { durableRevocation: { replica: 1 } }),
      // @ts-expect-error: no option "tabel"
      () => new PostgresTokenStore(idlePool(), { tabel: 'app_tokens' }),
      // @ts-expect-error: no option "Now"
      () => new MemoryTokenStore({ Now: Date.now }),
      // @ts-expect-error: no option "resolveAncestor"
      () => requireNodePermission(() => 'docs', 'r', { resolveAncestor: () => [] }),
      // @ts-expect-error: no option "caseTimeOut"
      () => checkTokenStore(() => Promise.reject(new Error('none')), { cases: [], caseTimeOut: 1 }),
    ];
    for (const call of refusals) {
      const error = await Promise.resolve()
        .then(call)
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      assert.ok(error instanceof OptionsError, String(call));
      assert.equal(error.code, 'ERR_UNKNOWN_OPTION');
    }
  });
});

describe('personalTokenAuth: which service', () => {
  test('tokens and store together are refused, naming both', () => {
    assert.throws(() => personalTokenAuth({ tokens: service(), store: new MemoryTokenStore() }), {
      name: 'OptionsError',
      code: 'ERR_CONFLICTING_OPTIONS',
      options: ['tokens', 'store'],
      message: /^personalTokenAuth: options "tokens" and "store" cannot go together/,
    });
  });

  test('either one alone is used; the other one undefined counts as absent', () => {
    const tokens = service();
    assert.equal(personalTokenAuth({ tokens, store: undefined }).tokens, tokens);
    const store = new MemoryTokenStore();
    assert.equal(personalTokenAuth({ tokens: undefined, store }).tokens.store, store);
  });

  test('tokens or store given as undefined, without the other, is refused rather than read as the default', () => {
    for (const options of [
      { tokens: undefined },
      { store: undefined },
      { tokens: undefined, store: undefined },
    ]) {
      assert.throws(() => personalTokenAuth(options), {
        name: 'TypeError',
        message: /^personalTokenAuth: (tokens|store) is undefined; leave out both/,
      });
    }
  });

  test('options that name no service or store still get the default one, on $REDIS_URL', async () => {
    const before = process.env.REDIS_URL;
    process.env.REDIS_URL = TEST_REDIS_URL;
    try {
      const auth = personalTokenAuth({ realm: 'Files', optional: undefined });
      assert.ok(auth.tokens.store instanceof RedisTokenStore);
      await auth.tokens.close();
    } finally {
      if (before === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = before;
    }
  });
});

describe('nearestName()', () => {
  const names = ['tokens', 'store', 'realm', 'maxTokensPerUser'];

  test('the name within two edits, or the same but for case; none beyond', () => {
    assert.equal(nearestName('token', names), 'tokens');
    assert.equal(nearestName('stroe', names), 'store');
    assert.equal(nearestName('MAXTOKENSPERUSER', names), 'maxTokensPerUser');
    assert.equal(nearestName('onEvent', names), undefined);
    assert.equal(nearestName('', names), undefined);
  });

  test('property: a name one or two edits away from a known one gets a suggestion within two edits', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 1 }),
        (name, at, letter) => {
          const position = at % name.length;
          const key = name.slice(0, position) + letter + name.slice(position + 1);
          if (key === name) return;
          assert.notEqual(nearestName(key, names), undefined, key);
        },
      ),
    );
  });
});
