// One user with 100,000 tokens, on the memory store and on the real Redis: `list` pages through all
// of them (each page its own store call under its own deadline), `GET /tokens` answers a page with
// the cursor of the next, issuing counts no further than the limit, and `revokeAll` revokes them
// all in batches and says how many; when the store fails midway, it says how many it had revoked.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { RedisTokenStore } from '../adapters/redis';
import { encodeToken } from '../adapters/redis-record';
import {
  RevokeAllIncompleteError,
  type StoredToken,
  type TokenInfoPage,
  TokenService,
  type TokenStore,
  tokenRouter,
} from '../lib/index';
import { tokenIdOf } from '../lib/token-format';
import { onBothStores } from './support/both-stores';

const MANY = 100_000;

function records(user: string, count: number, now: number): StoredToken[] {
  return Array.from({ length: count }, (_, i) => {
    const secretHash = randomBytes(32).toString('hex');
    // Some share a creation time, as tokens issued in the same millisecond do.
    const createdAt = now - 1_000_000 + Math.floor(i / 3);
    return {
      id: tokenIdOf(secretHash),
      user,
      secretHash,
      label: null,
      scopes: [],
      createdAt,
      expiresAt: now + 3_600_000,
      hardExpiresAt: now + 3_600_000,
      autoRefresh: null,
      lastUsedAt: null,
      lastUsedIp: null,
      recentIps: [],
    };
  });
}

/** Writes the tokens straight into the store: Redis through pipelines, as it stores them. */
async function seed(store: TokenStore, tokens: StoredToken[]): Promise<void> {
  if (!(store instanceof RedisTokenStore)) {
    for (const token of tokens) assert.equal(await store.create(token), 'created');
    return;
  }
  for (let start = 0; start < tokens.length; start += 5000) {
    const pipeline = store.client.pipeline();
    for (const token of tokens.slice(start, start + 5000)) {
      pipeline.set(store.tokenKey(token.id), encodeToken(token), 'PXAT', token.expiresAt);
      pipeline.zadd(store.userKey(token.user), token.createdAt, token.id);
    }
    await pipeline.exec();
  }
}

/** The store with some of its methods replaced (the others still called on the store itself). */
function storeWith(store: TokenStore, overrides: Partial<TokenStore>): TokenStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property in overrides) return overrides[property as keyof TokenStore];
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

onBothStores('100,000 tokens for one user', ({ makeStore }) => {
  test('list pages through them all, the router and issuing stay cheap, revokeAll revokes them all', async () => {
    const store = makeStore();
    const now = store.now!();
    const owner = `many-${randomBytes(3).toString('hex')}`;
    const seeded = records(owner, MANY, now);
    await seed(store, [...seeded, ...records('someone-else', 3, now)]);
    const revokedEvents: string[] = [];
    let storeCalls = 0;
    const tokens = new TokenService({
      store: storeWith(store, {
        listPage: (user, page) => {
          storeCalls++;
          return store.listPage(user, page);
        },
      }),
      // A guard for a loaded machine, not a speed target: the whole of it takes far longer than one
      // deadline, so it passes only because each page and each batch is a call of its own.
      timeout: 10_000,
      maxTokensPerUser: 200_000,
      onEvent: (event) => {
        if (event.type === 'revoked') revokedEvents.push(event.tokenId);
      },
    });

    // Every page its own call: all of them, once each, newest first.
    const listed: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: TokenInfoPage = await tokens.listPage(owner, { cursor, limit: 1000 });
      listed.push(...page.tokens.map((info) => info.id));
      cursor = page.cursor;
      pages++;
    } while (cursor !== null);
    assert.equal(new Set(listed).size, MANY);
    assert.ok(pages >= 100 && pages <= 101, `${pages} pages`);
    const expected = [...seeded]
      .sort((a, b) => (a.createdAt !== b.createdAt ? b.createdAt - a.createdAt : a.id < b.id ? 1 : -1))
      .map((token) => token.id);
    assert.deepEqual(listed, expected);

    // The router: a page, and the cursor of the next.
    const app = express();
    app.use(tokenRouter({ tokens, getLogin: () => owner }));
    const first = await request(app).get('/tokens').expect(200);
    assert.equal(first.body.tokens.length, 100, 'a default page');
    assert.equal(typeof first.body.next, 'string');
    const second = await request(app)
      .get('/tokens')
      .query({ cursor: first.body.next, limit: 1000 })
      .expect(200);
    assert.equal(second.body.tokens.length, 1000);
    assert.deepEqual(
      second.body.tokens.map((token: { id: string }) => token.id),
      expected.slice(100, 1100),
    );
    for (const query of [
      'limit=0',
      'limit=1001',
      'limit=x',
      'limit=1&limit=2',
      'cursor=nope',
      'cursor=a&cursor=b',
    ]) {
      const refused = await request(app).get(`/tokens?${query}`).expect(400);
      assert.equal(refused.body.error.code, 'ERR_INVALID_PAGE', query);
    }

    // Counting to the limit reads no more tokens than the limit.
    let read = 0;
    const counting = storeWith(store, {
      listPage: async (user: string, page: { cursor: string | null; limit: number }) => {
        const found = await store.listPage(user, page);
        read += found.tokens.length;
        return found;
      },
    });
    const limited = new TokenService({ store: counting, maxTokensPerUser: 100 });
    await assert.rejects(limited.issue({ user: owner, expiresIn: '1h' }), { code: 'ERR_TOKEN_LIMIT' });
    assert.ok(read <= 100, `read ${read} tokens to count to 100`);

    // revokeAll: every one, in batches, and it says how many.
    storeCalls = 0;
    assert.equal(await tokens.revokeAll(owner), MANY);
    assert.ok(storeCalls >= MANY / 1000, `revokeAll() went batch by batch: ${storeCalls} listings`);
    assert.equal(new Set(revokedEvents).size, MANY);
    assert.deepEqual(await tokens.listPage(owner), { tokens: [], cursor: null });
    assert.equal((await tokens.list('someone-else')).length, 3);
    await tokens.revokeAll('someone-else');
  });
});

test('revokeAll says how many it revoked when the store fails midway', async () => {
  let time = Date.UTC(2026, 0, 1);
  const store = new MemoryTokenStore({ now: () => time });
  for (const token of records('ann', 1200, time)) await store.create(token);
  let deletes = 0;
  const failing = storeWith(store, {
    delete: async (id: string, tombstoneUntil: number) => {
      if (++deletes > 700) throw new Error('connection lost');
      return store.delete(id, tombstoneUntil);
    },
  });
  const tokens = new TokenService({ store: failing });
  const error = await tokens.revokeAll('ann').then(
    () => assert.fail('revokeAll succeeded'),
    (error: unknown) => error,
  );
  assert.ok(error instanceof RevokeAllIncompleteError);
  assert.equal(error.code, 'ERR_STORE_UNAVAILABLE');
  assert.equal(error.revoked, 700);
  assert.match(error.message, /Revoked 700 tokens of user "ann"/);
  assert.equal((await new TokenService({ store }).list('ann')).length, 500);
  time += 1;

  // Through the router: a 503 that says how many.
  const app = express();
  deletes = 400;
  app.use(tokenRouter({ tokens, getLogin: () => 'ann' }));
  const res = await request(app).delete('/tokens').expect(503);
  assert.equal(res.body.error.revoked, 300);
  assert.match(res.body.error.message, /Revoked 300 tokens/);
});
