// Child tokens die with their parent, on every store: a token made by another personal token records
// it as its parent, and revoking a token (revoke, revokeAll) revokes its descendants in the same call,
// so that they are refused on the next request, also with the cache on. A family revoked in part (a
// PostgreSQL made to block) says how many went, and revoking again finishes; a child made while its
// parent is being revoked is revoked too, or its making fails; and over random families and random
// revocations, exactly the descendants of what was revoked are refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import { Client } from 'pg';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { RedisTokenStore } from '../adapters/redis';
import { tokenRouter } from '../lib/http/token-router';
import {
  CallerNotLiveError,
  FamilyRevocationIncompleteError,
  type IssuedToken,
  MAX_FAMILY_DEPTH,
  personalTokenAuth,
  RevokeAllIncompleteError,
  type TokenEvent,
  TokenPolicyError,
  TokenService,
  type TokenServiceOptions,
  type TokenStore,
} from '../lib/index';
import { callerOf } from '../testing/cases/families';
import { makePostgresHarness, type PostgresHarness } from './support/postgres-harness';
import { type PostgresServer, startPostgres } from './support/postgres-server';
import { connectTestRedis, deleteKeys, scanKeys, uniquePrefix } from './support/redis';

let postgres: PostgresServer;
let harness: PostgresHarness;
const redis = connectTestRedis();
const prefix = uniquePrefix('families');
before(async () => {
  postgres = await startPostgres();
  harness = await makePostgresHarness(postgres, { clock: false });
});
after(async () => {
  await harness?.cleanup();
  await postgres?.cleanup();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

let stores = 0;
const STORES: { name: string; make: () => TokenStore; caches: boolean }[] = [
  { name: 'memory', make: () => new MemoryTokenStore(), caches: true },
  {
    name: 'Redis',
    make: () => new RedisTokenStore(redis, { prefix: `${prefix}${stores++}:` }),
    caches: true,
  },
  { name: 'PostgreSQL', make: () => harness.store, caches: false },
];

let users = 0;
const someone = () => `family-${process.pid}-${users++}`;

/** An app whose `/` answers 200 to a live personal token. */
function appOf(tokens: TokenService) {
  const app = express();
  app.use(personalTokenAuth({ tokens }));
  app.get('/', (_req, res) => res.send('ok'));
  app.use('/api', tokenRouter({ tokens }));
  return app;
}

const use = (app: express.Express, token: IssuedToken) =>
  request(app).get('/').set('Authorization', `Bearer ${token.token}`);

/** A parent, its child (made through the router, as a request of the parent's), and a grandchild of another user. */
async function family(tokens: TokenService, app: express.Express) {
  const user = someone();
  const parent = await tokens.issue({ user, expiresIn: '1h' });
  const made = await request(app)
    .post('/api/tokens')
    .set('Authorization', `Bearer ${parent.token}`)
    .send({ expiresIn: '30m', label: 'child' })
    .expect(201);
  assert.equal(made.body.parentId, parent.id, 'the router shows the parent');
  const child = { ...(await tokens.inspect(made.body.id))!, token: made.body.token as string };
  const grandchild = await tokens.issueFor(callerOf(child), { user: someone(), expiresIn: '20m' });
  return { user, parent, child, grandchild };
}

for (const { name, make, caches } of STORES) {
  const configurations: { title: string; options: Partial<TokenServiceOptions> }[] = [
    { title: '', options: {} },
    ...(caches ? [{ title: ', with the cache on', options: { cache: { maxStale: '1h' } } }] : []),
  ];
  for (const { title, options } of configurations) {
    describe(`child tokens on the ${name} store${title}`, () => {
      test('revoking the parent makes its child and grandchild 401 on the next request', async (t) => {
        const events: TokenEvent[] = [];
        const tokens = new TokenService({
          store: make(),
          onEvent: (event) => void events.push(event),
          ...options,
        });
        t.after(() => tokens.close());
        const app = appOf(tokens);
        const { parent, child, grandchild } = await family(tokens, app);
        assert.equal(grandchild.parentId, child.id);
        for (const token of [parent, child, grandchild]) await use(app, token).expect(200);
        assert.equal(await tokens.revoke(parent.id), true);
        for (const token of [parent, child, grandchild]) await use(app, token).expect(401);
        const revoked = events.filter((event) => event.type === 'revoked');
        assert.deepEqual(
          revoked.map((event) => [event.tokenId, event.ancestorId]),
          [
            [parent.id, undefined],
            [child.id, parent.id],
            [grandchild.id, parent.id],
          ],
          'one event each, the descendants naming the ancestor revoked, depth-first',
        );
      });

      test("a leaked parent's text reported (revokeLeaked) takes its family down", async (t) => {
        const tokens = new TokenService({ store: make(), ...options });
        t.after(() => tokens.close());
        const app = appOf(tokens);
        const { parent, child, grandchild } = await family(tokens, app);
        assert.equal(
          await tokens.revokeLeaked(parent.token, { source: 'https://example.com/paste' }),
          'revoked',
        );
        for (const token of [parent, child, grandchild]) await use(app, token).expect(401);
      });

      test("revokeAll takes each token's family, whoever it belongs to, and counts it", async (t) => {
        const tokens = new TokenService({ store: make(), ...options });
        t.after(() => tokens.close());
        const app = appOf(tokens);
        const { user, parent, child, grandchild } = await family(tokens, app);
        const bystander = await tokens.issue({ user: grandchild.user, expiresIn: '1h' });
        assert.equal(
          await tokens.revokeAll(user),
          3,
          'the parent, its child, and the grandchild of another user',
        );
        for (const token of [parent, child, grandchild]) await use(app, token).expect(401);
        await use(app, bystander).expect(200);
      });
    });
  }

  describe(`child tokens on the ${name} store: making, rotating, racing`, () => {
    test('a token with the most ancestors can make none (403); a revoked one, none either (401)', async () => {
      const tokens = new TokenService({ store: make() });
      const app = appOf(tokens);
      let token: IssuedToken = await tokens.issue({ user: someone(), expiresIn: '1h' });
      for (let depth = 1; depth <= MAX_FAMILY_DEPTH; depth++)
        token = await tokens.issueFor(callerOf(token), { expiresIn: 3_600_000 - depth * 60_000 });
      await assert.rejects(tokens.issueFor(callerOf(token), { expiresIn: '10m' }), TokenPolicyError);
      await request(app)
        .post('/api/tokens')
        .set('Authorization', `Bearer ${token.token}`)
        .send({ expiresIn: '10m' })
        .expect(403)
        .expect((res) => assert.equal(res.body.error.code, 'ERR_FAMILY_TOO_DEEP'));
      // The authInfo of a request that started before the revocation: its token is gone by now.
      const parent = await tokens.issue({ user: someone(), expiresIn: '1h' });
      await tokens.revoke(parent.id);
      await assert.rejects(tokens.issueFor(callerOf(parent), { expiresIn: '10m' }), CallerNotLiveError);
    });

    test('rotation: the replacement takes the place of the old token; its children stay, and go with the family', async () => {
      const tokens = new TokenService({ store: make() });
      const app = appOf(tokens);
      const { parent, child, grandchild } = await family(tokens, app);
      // The child rotates itself: the replacement is the parent's child, never its own.
      const rotated = await request(app)
        .post(`/api/tokens/${child.id}/rotate`)
        .set('Authorization', `Bearer ${child.token}`)
        .send({})
        .expect(201);
      assert.equal(rotated.body.parentId, parent.id);
      const replacement = {
        ...(await tokens.inspect(rotated.body.id))!,
        token: rotated.body.token as string,
      };
      await use(app, child).expect(401);
      // Rotating is not revoking.
      await use(app, grandchild).expect(200);
      // A token rotated by another one: made by it, it is its child too.
      const other = await tokens.issue({ user: parent.user, expiresIn: '10m' });
      const byOther = await tokens.rotate(other.id, { caller: callerOf(replacement) });
      assert.equal(byOther?.parentId, replacement.id);
      assert.equal(await tokens.revoke(replacement.id), true);
      assert.equal(await tokens.verify(byOther!.token), null, 'the token it rotated went with it');
      assert.ok(await tokens.verify(grandchild.token), "the old child's children are not the replacement's");
      // Revoking the rotated token, gone already, still takes its children.
      assert.equal(await tokens.revoke(child.id), false);
      assert.equal(await tokens.verify(grandchild.token), null);
      const second = await tokens.issueFor(callerOf(parent), { expiresIn: '10m' });
      const third = await tokens.issueFor(callerOf(second), { expiresIn: '5m' });
      await tokens.rotate(second.id);
      await tokens.revoke(parent.id);
      assert.equal(await tokens.verify(third.token), null, "a rotated token's children go with its ancestor");
    });

    test('many children made while their parent is revoked: afterwards every one is refused', async (t) => {
      const tokens = new TokenService({ store: make(), timeout: 10_000 });
      let made = 0;
      let refused = 0;
      for (let round = 0; round < 5; round++) {
        const parent = await tokens.issue({ user: someone(), expiresIn: '1h' });
        const caller = callerOf(parent);
        const mints = Array.from({ length: 40 }, () => tokens.issueFor(caller, { expiresIn: '30m' }));
        // Revoked once some children exist and while the others are on their way.
        await Promise.race(mints);
        const revoking = tokens.revoke(parent.id);
        const results = await Promise.allSettled([
          ...mints,
          ...Array.from({ length: 10 }, () => tokens.issueFor(caller, { expiresIn: '30m' })),
        ]);
        assert.equal(await revoking, true);
        for (const result of results) {
          if (result.status === 'rejected') {
            assert.ok(result.reason instanceof CallerNotLiveError, String(result.reason));
            refused++;
            continue;
          }
          made++;
          assert.equal(
            await tokens.verify(result.value.token),
            null,
            `child ${result.value.id} outlived its parent`,
          );
        }
      }
      t.diagnostic(`${name}: ${made} children made and then revoked, ${refused} refused, of 250`);
      assert.ok(made > 0 && refused > 0, 'the race happened both ways');
    });
  });
}

describe('a family revoked in part (PostgreSQL made to block)', () => {
  let blocker: Client;
  before(async () => {
    blocker = new Client({ connectionString: postgres.url });
    await blocker.connect();
  });
  after(async () => {
    await blocker?.end();
  });

  test('revoke rejects naming how many went, and revoking again finishes', async () => {
    const tokens = new TokenService({ store: harness.store, timeout: 300 });
    const user = someone();
    const parent = await tokens.issue({ user, expiresIn: '1h' });
    const children = await Promise.all(
      Array.from({ length: 3 }, () => tokens.issueFor(callerOf(parent), { expiresIn: '30m' })),
    );
    const held = await tokens.issueFor(callerOf(children[0]!), { expiresIn: '20m' });
    // A grandchild whose row is locked: its revocation waits past the deadline.
    await blocker.query('BEGIN');
    try {
      await blocker.query(`SELECT 1 FROM "${harness.store.table}" WHERE id = $1 FOR UPDATE`, [held.id]);
      const failure = await tokens.revoke(parent.id).then(
        () => assert.fail('the revocation cannot finish'),
        (error: unknown) => error,
      );
      assert.ok(failure instanceof FamilyRevocationIncompleteError, String(failure));
      assert.equal(failure.revoked, 4, 'the parent and its three children');
      assert.equal(failure.code, 'ERR_STORE_UNAVAILABLE');
      for (const child of children) assert.equal(await tokens.verify(child.token), null);
    } finally {
      await blocker.query('ROLLBACK');
    }
    assert.equal(await tokens.revoke(parent.id), false, 'the parent was revoked already');
    assert.equal(await tokens.verify(held.token), null, 'the rest of the family is revoked');
  });

  test('revokeAll rejects naming how many went, descendants included', async () => {
    const tokens = new TokenService({ store: harness.store, timeout: 300 });
    const user = someone();
    const parent = await tokens.issue({ user, expiresIn: '1h' });
    const child = await tokens.issueFor(callerOf(parent), { user: someone(), expiresIn: '30m' });
    const held = await tokens.issueFor(callerOf(child), { expiresIn: '20m' });
    await blocker.query('BEGIN');
    try {
      await blocker.query(`SELECT 1 FROM "${harness.store.table}" WHERE id = $1 FOR UPDATE`, [held.id]);
      const failure = await tokens.revokeAll(user).then(
        () => assert.fail('the revocation cannot finish'),
        (error: unknown) => error,
      );
      assert.ok(failure instanceof RevokeAllIncompleteError, String(failure));
      assert.equal(failure.revoked, 2, 'the parent and its child');
    } finally {
      await blocker.query('ROLLBACK');
    }
    await tokens.revoke(parent.id);
    assert.equal(await tokens.verify(held.token), null);
  });
});

test('the Redis index of descendants goes with its entries', async () => {
  const keys = `${prefix}index:`;
  const tokens = new TokenService({ store: new RedisTokenStore(redis, { prefix: keys }) });
  const parent = await tokens.issue({ user: someone(), expiresIn: '1h' });
  const child = await tokens.issueFor(callerOf(parent), { expiresIn: '30m' });
  const index = `${keys}d:{${parent.id}}`;
  assert.deepEqual(await redis.zrange(index, '0', '-1'), [child.id]);
  const ttl = await redis.pexpiretime(index);
  assert.equal(ttl, child.hardExpiresAt!.getTime(), 'it lives until its latest hard limit');
  await tokens.revoke(child.id);
  assert.deepEqual(
    (await scanKeys(redis, keys)).filter((key) => key.startsWith(`${keys}d:`)),
    [],
    'no index is left once its descendants are revoked',
  );
});

test('over random families and random revocations, exactly the descendants of what was revoked are refused', async () => {
  await fc.assert(
    fc.asyncProperty(
      // Each token after the first: made by an earlier one (its index), or by the app (null).
      fc.array(fc.option(fc.nat(), { nil: null }), { minLength: 1, maxLength: 14 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
      async (makers, revocations) => {
        const tokens = new TokenService({ store: new MemoryTokenStore() });
        const user = someone();
        const issued: IssuedToken[] = [await tokens.issue({ user, expiresIn: '10h' })];
        const parents: (number | null)[] = [null];
        const depth: number[] = [0];
        for (const maker of makers) {
          const candidates = issued.map((_, i) => i).filter((i) => depth[i]! < MAX_FAMILY_DEPTH);
          const parent = maker === null ? null : candidates[maker % candidates.length]!;
          const level = parent === null ? 0 : depth[parent]! + 1;
          const terms = { expiresIn: 10 * 3_600_000 - level * 60_000 };
          issued.push(
            parent === null
              ? await tokens.issue({ user, ...terms })
              : await tokens.issueFor(callerOf(issued[parent]!), terms),
          );
          parents.push(parent);
          depth.push(level);
        }
        const descends = (i: number, ancestor: number): boolean =>
          i === ancestor || (parents[i] !== null && descends(parents[i]!, ancestor));
        const revoked = new Set<number>();
        for (const pick of revocations) {
          const target = pick % issued.length;
          await tokens.revoke(issued[target]!.id);
          revoked.add(target);
          for (const [i, token] of issued.entries()) {
            const dead = [...revoked].some((ancestor) => descends(i, ancestor));
            assert.equal(
              (await tokens.verify(token.token)) === null,
              dead,
              `token ${i} after revoking ${target}`,
            );
          }
        }
      },
    ),
    { numRuns: 150 },
  );
});
