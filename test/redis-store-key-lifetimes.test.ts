// Model-based test of the Redis store's key lifetimes, against a real Redis: random sequences of
// issue, use, rotate (with and without an overlap), revoke, revokeAll and clock steps. After every
// step: no key of a token outlives its token (its hard limit as it is now, its last window) and no
// tombstone outlives the token or its longest life; no key lacks a TTL; `list` shows no expired or
// revoked token; a revoked or expired token is never accepted.
//
// Clocks: Redis expires keys on its own clock, which a test cannot move. The app's clock is Redis'
// plus a skew that the clock steps only ever increase (the app runs ahead of Redis, the direction in
// which a store that trusts the token's text would extend keys it should not). Bounds are therefore
// kept on Redis' clock: every bound is a time no key may outlive, and each check reads Redis' time
// (Date.now(), the same clock on this machine) before it reads the keys' PTTLs.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { RedisTokenStore } from '../adapters/redis';
import { type IssuedToken, TOMBSTONE_LIFE, TokenService } from '../lib/index';
import { connectTestRedis, deleteKeys, scanKeys, uniquePrefix } from './support/redis';

const NUM_RUNS = 60;
const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const USERS = ['ann', 'bob'] as const;

type Op =
  | { kind: 'issue'; user: number; window: number | null; hard: number | null }
  | { kind: 'use'; token: number }
  | { kind: 'rotate'; token: number; overlap: number }
  | { kind: 'revoke'; token: number }
  | { kind: 'revokeAll'; user: number }
  | { kind: 'step'; ms: number };

// Windows beyond a tombstone's life (7 days) too: a use of a revoked token must not extend it to one.
const windows = fc.constantFrom(null, 2 * SECOND, HOUR, 8 * DAY, 20 * DAY);
const hards = fc.constantFrom(null, 3 * SECOND, 2 * HOUR, 20 * DAY);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('issue' as const),
      user: fc.nat(1),
      window: windows,
      hard: hards,
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('use' as const), token: fc.nat(20) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('rotate' as const),
      token: fc.nat(20),
      overlap: fc.constantFrom(0, SECOND, 30 * 60_000, 2 * DAY),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('revoke' as const), token: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revokeAll' as const), user: fc.nat(1) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('step' as const),
      ms: fc.constantFrom(1500, 5 * SECOND, HOUR, 3 * DAY, 8 * DAY),
    }),
  },
);

/** What the model knows of a token; times named `…Real` are on Redis' clock, the others on the app's. */
interface ModelToken {
  issued: IssuedToken;
  user: string;
  window: number | null;
  /** Its hard limit, or an upper bound of it (after a rotation with an overlap); Infinity for none. */
  hard: number;
  /** No key of this token may live past this time. */
  keyBoundReal: number;
  revoked: boolean;
  /** No tombstone of this token may live past this time. */
  tombstoneBoundReal: number;
}

const client = connectTestRedis();
after(() => client.quit());

test('no key outlives its token, no tombstone outlives its life, list shows no expired token (random sequences)', async () => {
  let accepted = 0;
  let keysChecked = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
      const prefix = uniquePrefix('lifetimes');
      let skew = 0;
      // Which tokens the service revoked, as its events say: an expired token is not revoked.
      const revokedIds = new Set<string>();
      const tokens = new TokenService({
        store: new RedisTokenStore(client, { prefix, now: () => Date.now() + skew }),
        onEvent: (event) => {
          if (event.type === 'revoked') revokedIds.add(event.tokenId);
        },
      });
      const model: ModelToken[] = [];
      const pick = (index: number) => (model.length === 0 ? undefined : model[index % model.length]);

      /**
       * A key's bound after a call that may have refreshed it, made between `before` and `after`: a
       * window binds as a duration on Redis' clock, a hard limit as a time (which Redis reads on its
       * own clock); which one binds, the store decided at a time between the two.
       */
      const refreshed = (token: ModelToken, before: number, after: number) => {
        if (token.window === null) return Math.min(token.keyBoundReal, token.hard);
        if (after + skew + token.window < token.hard) return after + token.window;
        return Math.min(Math.max(token.hard, after + token.window), token.hard + (after - before));
      };

      const issue = async (user: string, window: number | null, hard: number | null) => {
        const before = Date.now();
        const issued = await tokens.issue({
          user,
          autoRefresh: window ?? undefined,
          expiresIn: hard ?? undefined,
        });
        const after = Date.now();
        const token: ModelToken = {
          issued,
          user,
          window,
          hard: issued.hardExpiresAt?.getTime() ?? Number.POSITIVE_INFINITY,
          keyBoundReal: Number.POSITIVE_INFINITY,
          revoked: false,
          tombstoneBoundReal: 0,
        };
        token.keyBoundReal = refreshed(token, before, after);
        model.push(token);
      };

      const revoked = (token: ModelToken, after: number) => {
        if (token.revoked || !revokedIds.has(token.issued.id)) return;
        token.revoked = true;
        token.tombstoneBoundReal = Math.min(token.keyBoundReal, after + TOMBSTONE_LIFE);
      };

      try {
        for (const step of ops) {
          switch (step.kind) {
            case 'issue':
              if (step.window === null && step.hard === null) break;
              await issue(USERS[step.user]!, step.window, step.hard);
              break;
            case 'use': {
              const token = pick(step.token);
              if (!token) break;
              const before = Date.now();
              const appBefore = before + skew;
              const result = await tokens.authenticate(token.issued.token);
              const after = Date.now();
              if (result.ok) {
                accepted++;
                assert.ok(!token.revoked, 'a revoked token is never accepted');
                assert.ok(appBefore < token.hard, 'a token past its hard limit is never accepted');
              }
              if (!token.revoked) token.keyBoundReal = refreshed(token, before, after);
              break;
            }
            case 'rotate': {
              const token = pick(step.token);
              if (!token) break;
              const before = Date.now();
              const fresh = await tokens.rotate(token.issued.id, { overlap: step.overlap });
              const after = Date.now();
              if (fresh === null) break;
              model.push({
                issued: fresh,
                user: token.user,
                window: token.window,
                hard: token.hard,
                keyBoundReal: refreshed({ ...token, keyBoundReal: Number.POSITIVE_INFINITY }, before, after),
                revoked: false,
                tombstoneBoundReal: 0,
              });
              if (step.overlap === 0) {
                // Rotation revokes the old token without a `revoked` event.
                revokedIds.add(token.issued.id);
                revoked(token, after);
              } else {
                token.hard = Math.min(token.hard, after + skew + step.overlap);
                // The new limit is a time on the app's clock, which Redis reads as its own.
                token.keyBoundReal = Math.min(token.keyBoundReal, token.hard);
              }
              break;
            }
            case 'revoke': {
              const token = pick(step.token);
              if (!token) break;
              await tokens.revoke(token.issued.id);
              revoked(token, Date.now());
              break;
            }
            case 'revokeAll': {
              await tokens.revokeAll(USERS[step.user]!);
              const after = Date.now();
              for (const token of model) if (token.user === USERS[step.user]) revoked(token, after);
              break;
            }
            case 'step':
              skew += step.ms;
              break;
          }
          keysChecked += await checkKeys(prefix, model);
          for (const user of USERS) {
            const appNow = Date.now() + skew;
            for (const info of await tokens.list(user)) {
              const token = model.find((t) => t.issued.id === info.id);
              assert.ok(token, 'only tokens it issued');
              assert.ok(!token.revoked, `list shows no revoked token (${info.id})`);
              assert.ok(info.expiresAt.getTime() > appNow, `list shows no expired token (${info.id})`);
              assert.ok(
                (info.hardExpiresAt?.getTime() ?? Number.POSITIVE_INFINITY) > appNow,
                'nor one past its hard limit',
              );
            }
          }
        }
      } finally {
        await deleteKeys(client, prefix);
      }
    }),
    { numRuns: NUM_RUNS },
  );
  assert.ok(accepted > 0 && keysChecked > 0, 'the sequences did accept tokens and check keys');
});

/** Checks every key under the prefix against the model; returns how many it checked. */
async function checkKeys(prefix: string, model: ModelToken[]): Promise<number> {
  // The indexes (a user's, the buckets by hard limit) hold ids, and no TTL: what they list is looked up.
  const keys = (await scanKeys(client, prefix)).filter(
    (key) => !key.startsWith(`${prefix}u:`) && !key.startsWith(`${prefix}x:`),
  );
  const nowReal = Date.now();
  const ttls = await Promise.all(keys.map((key) => client.pttl(key)));
  keys.forEach((key, i) => {
    const ttl = ttls[i]!;
    if (ttl === -2) return; // expired between SCAN and PTTL
    assert.notEqual(ttl, -1, `${key} has a TTL`);
    const match = /^([tlr]):\{([0-9a-f]{16})\}$/.exec(key.slice(prefix.length));
    assert.ok(match, `only token keys besides the index: ${key}`);
    const token = model.find((t) => t.issued.id === match[2]);
    assert.ok(token, `a key of a token it issued: ${key}`);
    if (match[1] === 'r') {
      assert.ok(token.revoked, 'a tombstone only for a revoked token');
      assert.ok(
        ttl <= token.tombstoneBoundReal - nowReal,
        `${key}: tombstone PTTL ${ttl} > ${token.tombstoneBoundReal - nowReal}`,
      );
    } else {
      assert.ok(!token.revoked, 'no record of a revoked token');
      assert.ok(ttl <= token.keyBoundReal - nowReal, `${key}: PTTL ${ttl} > ${token.keyBoundReal - nowReal}`);
    }
  });
  return keys.length;
}
