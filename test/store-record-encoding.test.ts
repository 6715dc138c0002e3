// Every field a store keeps round-trips whatever it holds (item: a tab in X-Forwarded-For once made
// a Redis record unreadable). A property test on the Redis store's encoding, and the whole path end
// to end: trackIp, `trust proxy`, and an X-Forwarded-For with a tab, on both stores.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { decodeToken, encodeToken } from '../adapters/redis-record';
import { personalTokenAuth, type StoredToken, TokenService } from '../lib/index';
import { onBothStores } from './support/both-stores';

const NUM_RUNS = 5000;

// Any text, with the separators and escapes a store could trip on mixed in generously.
const tricky = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({
    unit: fc.constantFrom('\t', '\n', '\r', ' ', '%', '0', '9', 'A', '2', '5', 'é', '😀', '\u0000'),
  }),
);
const time = fc.integer({ min: 0, max: 8_000_000_000_000 });
const stored: fc.Arbitrary<StoredToken> = fc.record({
  id: fc.stringMatching(/^[0-9a-f]{16}$/),
  user: tricky,
  secretHash: fc.stringMatching(/^[0-9a-f]{64}$/),
  label: fc.option(tricky),
  scopes: fc.array(tricky, { maxLength: 5 }),
  createdAt: time,
  expiresAt: time,
  hardExpiresAt: fc.option(time),
  autoRefresh: fc.option(fc.integer({ min: 1, max: 2_800_000_000_000 })),
  lastUsedAt: fc.option(time),
  lastUsedIp: fc.option(tricky),
  recentIps: fc.array(
    fc.tuple(tricky, time).map(([ip, lastSeenAt]) => ({ ip, lastSeenAt })),
    { maxLength: 5 },
  ),
  ancestorIds: fc.array(fc.stringMatching(/^[0-9a-f]{16}$/), { maxLength: 8 }),
});

test(`the Redis record encoding round-trips every field, whatever it holds (${NUM_RUNS} cases)`, () => {
  fc.assert(
    fc.property(stored, (token) => {
      const encoded = encodeToken(token);
      // What the Lua scripts rely on: ten tab-separated fields (eleven with recent IPs, twelve with
      // ancestors), one line.
      const ancestors = token.ancestorIds!.length > 0;
      assert.equal(encoded.split('\t').length, ancestors ? 12 : token.recentIps.length > 0 ? 11 : 10);
      assert.ok(!/[\n\r]/.test(encoded));
      const expiresAt = Math.min(token.expiresAt, token.hardExpiresAt ?? Number.POSITIVE_INFINITY);
      assert.deepEqual(decodeToken(token.id, encoded, token.expiresAt), { ...token, expiresAt });
    }),
    { numRuns: NUM_RUNS },
  );
});

onBothStores('trackIp behind a proxy', ({ makeStore, advance }) => {
  test('an X-Forwarded-For with a tab, or anything else that is no IP, is not recorded, and breaks nothing', async () => {
    const tokens = new TokenService({ store: makeStore(), trackIp: true, touchInterval: 1 });
    const app = express();
    app.set('trust proxy', true);
    app.use(personalTokenAuth({ tokens }));
    app.get('/', (_req, res) => res.send('ok'));
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h', label: 'the 100% label' });
    const use = (forwardedFor: string) =>
      request(app)
        .get('/')
        .set('Authorization', `Bearer ${issued.token}`)
        .set('X-Forwarded-For', forwardedFor);
    await use('198.51.100.9').expect(200);
    assert.equal((await tokens.inspect(issued.id))?.lastUsedIp, '198.51.100.9');
    for (const forwardedFor of ['198.51.100.7\tevil', 'x%09y', 'not an ip']) {
      await advance(2); // past the 1 ms touch interval
      await use(forwardedFor).expect(200);
      const info = await tokens.inspect(issued.id);
      assert.ok(info, `still readable after ${JSON.stringify(forwardedFor)}`);
      assert.equal(info.lastUsedIp, null, 'only an IP is recorded');
      assert.equal(info.label, 'the 100% label');
      assert.deepEqual(
        (await tokens.list('admin')).map((token) => token.id),
        [issued.id],
      );
    }
    await use('2001:db8::1').expect(200);
  });
});
