// tokenRouter(): self-service token management over HTTP, on the memory store and on the real Redis,
// behind a stand-in for the app's session (a trusted test header) and behind personalTokenAuth.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express5 from 'express';
import express4 from 'express4';
import { Redis } from 'ioredis';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { RedisTokenStore } from '../adapters/redis';
import { tokenRouter } from '../lib/http/token-router';
import { type IssuedToken, personalTokenAuth, TokenService, type TokenStore } from '../lib/index';
import { onBothStores } from './support/both-stores';
import { ancestors } from './support/node-ancestry';
import { testSession } from './support/test-session';

type ExpressModule = typeof express5;

/**
 * `/session/*`: the app's own authentication, here a trusted `X-Test-Login` header standing in for a
 * session cookie. `/pat/*`: personal tokens. Both mount the same router.
 */
function makeApp(tokens: TokenService, express: ExpressModule = express5) {
  const app = express();
  app.use('/session', testSession);
  app.use('/session', tokenRouter({ tokens }));
  app.use('/pat', personalTokenAuth({ tokens, resolveAncestors: ancestors }), tokenRouter({ tokens }));
  app.get('/pat/me', (req, res) => res.json({ login: req.authInfo?.login }));
  return app;
}

const as = (login: string) => ({ 'X-Test-Login': login });
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

onBothStores('tokenRouter', ({ makeStore, advance }) => {
  let tokens: TokenService;
  let app: ReturnType<typeof makeApp>;
  before(() => {
    tokens = new TokenService({
      store: makeStore(),
      resolveUser: (login) => (login === 'carol' ? null : { login }),
    });
    app = makeApp(tokens);
  });
  const create = (login: string, body: object) =>
    request(app).post('/session/tokens').set(as(login)).send(body);
  const works = async (token: string) =>
    (await request(app).get('/pat/me').set(bearer(token))).status === 200;

  describe('POST /tokens', () => {
    test('201 with the token once, no-store, a Location, and the record; the token works', async () => {
      const res = await create('alice', {
        label: 'laptop',
        expiresIn: '24h',
        autoRefresh: '1h',
        scopes: ['node:docs:wr'],
      }).expect(201);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers.location, `/session/tokens/${res.body.id}`);
      assert.ok(/^pat_[0-9a-f]{16}/.test(res.body.token), 'the token, in the pat_ format');
      const created = Date.parse(res.body.createdAt);
      assert.deepEqual(
        { ...res.body, token: undefined, id: undefined },
        {
          token: undefined,
          id: undefined,
          user: 'alice',
          label: 'laptop',
          scopes: ['node:docs:rw'],
          createdAt: res.body.createdAt,
          expiresAt: new Date(created + 3600_000).toISOString(),
          hardExpiresAt: new Date(created + 24 * 3600_000).toISOString(),
          autoRefresh: 3600_000,
          lastUsedAt: null,
          lastUsedIp: null,
          recentIps: [],
          parentId: null,
        },
      );
      assert.ok(await works(res.body.token));
      const listed = await request(app).get('/session/tokens').set(as('alice')).expect(200);
      assert.ok(!listed.text.includes(res.body.token), 'the list never carries the token');
      assert.ok(!/secret|hash/i.test(listed.text), 'nor any secret material');
    });

    test('bad input: 400 with a stable code and the field named', async () => {
      const cases: [object, string, string][] = [
        [{ expiresIn: '1.5d' }, 'ERR_INVALID_DURATION', 'expiresIn'],
        [{ expiresIn: true }, 'ERR_INVALID_DURATION', 'expiresIn'],
        [{ autoRefresh: '-5m' }, 'ERR_INVALID_DURATION', 'autoRefresh'],
        [{}, 'ERR_INVALID_TOKEN_OPTIONS', 'expiresIn'],
        [{ label: 'x', expiresIn: null, autoRefresh: null }, 'ERR_INVALID_TOKEN_OPTIONS', 'expiresIn'],
        [{ expiresIn: '1h', label: 7 }, 'ERR_INVALID_TOKEN_OPTIONS', 'label'],
        [{ expiresIn: '1h', label: 'a'.repeat(201) }, 'ERR_INVALID_TOKEN_OPTIONS', 'label'],
        [{ expiresIn: '1h', label: 'two\nlines' }, 'ERR_INVALID_TOKEN_OPTIONS', 'label'],
        [{ expiresIn: '1h', scopes: 'node:docs:r' }, 'ERR_INVALID_SCOPE', 'scopes'],
        [{ expiresIn: '1h', scopes: ['node:docs:r', 'node:docs:write'] }, 'ERR_INVALID_SCOPE', 'scopes'],
        [{ expiresIn: '1h', scopes: [42] }, 'ERR_INVALID_SCOPE', 'scopes'],
        // A typo must not silently make a token with the user's full access.
        [{ expiresIn: '1h', scope: 'node:docs:r' }, 'ERR_UNKNOWN_FIELD', 'scope'],
        [{ expiresIn: '1h', user: 'admin' }, 'ERR_UNKNOWN_FIELD', 'user'],
      ];
      for (const [body, code, field] of cases) {
        const res = await create('alice', body).expect(400);
        assert.equal(res.body.error.code, code, JSON.stringify(body));
        assert.equal(res.body.error.field, field, JSON.stringify(body));
        assert.equal(typeof res.body.error.message, 'string');
      }
      const array = await create('alice', [{ expiresIn: '1h' }]).expect(400);
      assert.equal(array.body.error.code, 'ERR_INVALID_BODY');
      assert.equal((await tokens.list('alice')).length, 1, 'none of them issued anything');
    });

    test('malformed JSON is a 400 that never echoes the body', async () => {
      const res = await request(app)
        .post('/session/tokens')
        .set(as('alice'))
        .set('Content-Type', 'application/json')
        .send('{"label": "pat_0123456789abcdef leaked", ')
        .expect(400);
      assert.deepEqual(res.body, {
        error: { code: 'ERR_INVALID_JSON', message: 'The body is not valid JSON' },
      });
    });

    test('only application/json: forms and bodiless posts are 415 (no cross-site simple requests)', async () => {
      for (const [type, body] of [
        ['application/x-www-form-urlencoded', 'expiresIn=1h'],
        ['text/plain', '{"expiresIn":"1h"}'],
        ['multipart/form-data; boundary=x', '--x--'],
      ] as const) {
        const res = await request(app)
          .post('/session/tokens')
          .set(as('alice'))
          .type(type)
          .send(body)
          .expect(415);
        assert.equal(res.body.error.code, 'ERR_UNSUPPORTED_MEDIA_TYPE', type);
      }
      await request(app).post('/session/tokens').set(as('alice')).expect(415);
      const charset = await request(app)
        .post('/session/tokens')
        .set(as('alice'))
        .set('Content-Type', 'application/json; charset=latin1')
        .send('{"expiresIn":"1h"}')
        .expect(415);
      assert.equal(charset.body.error.code, 'ERR_UNSUPPORTED_MEDIA_TYPE');
    });

    test('a body over 16 KiB is a 413', async () => {
      const res = await create('alice', { expiresIn: '1h', label: 'x'.repeat(20_000) }).expect(413);
      assert.equal(res.body.error.code, 'ERR_BODY_TOO_LARGE');
    });

    test('works when the app already parsed the body with express.json()', async () => {
      const parsing = express5();
      parsing.use(express5.json());
      parsing.use((req, _res, next) => {
        req.user = { login: 'dave' } as Express.User;
        next();
      });
      parsing.use(tokenRouter({ tokens }));
      const res = await request(parsing)
        .post('/tokens')
        .send({ expiresIn: '1h', label: 'pre-parsed' })
        .expect(201);
      assert.equal(res.body.label, 'pre-parsed');
    });

    test('a user the service does not know (disabled) gets 403 ERR_UNKNOWN_USER', async () => {
      const res = await create('carol', { expiresIn: '1h' }).expect(403);
      assert.equal(res.body.error.code, 'ERR_UNKNOWN_USER');
    });

    test('past maxTokensPerUser: 409 ERR_TOKEN_LIMIT', async () => {
      const limited = new TokenService({ store: makeStore(), maxTokensPerUser: 2 });
      const limitedApp = makeApp(limited);
      for (let i = 0; i < 2; i++) {
        await request(limitedApp)
          .post('/session/tokens')
          .set(as('alice'))
          .send({ expiresIn: '1h' })
          .expect(201);
      }
      const res = await request(limitedApp)
        .post('/session/tokens')
        .set(as('alice'))
        .send({ expiresIn: '1h' })
        .expect(409);
      assert.equal(res.body.error.code, 'ERR_TOKEN_LIMIT');
    });

    test('a token as a scope’s node id: 400 ERR_INVALID_SCOPE naming scopes, never stored or echoed', async () => {
      const secret = (await create('alice', { expiresIn: '1h' }).expect(201)).body.token as string;
      const before = (await tokens.list('alice')).length;
      const res = await create('alice', { expiresIn: '1h', scopes: [`node:${secret}:r`] }).expect(400);
      assert.equal(res.body.error.code, 'ERR_INVALID_SCOPE');
      assert.equal(res.body.error.field, 'scopes');
      assert.ok(!res.text.includes(secret.slice(20)), 'the token is not repeated');
      assert.equal((await tokens.list('alice')).length, before, 'nothing issued');
      await assert.rejects(tokens.issue({ user: 'alice', expiresIn: '1h', scopes: [`node:${secret}:r`] }), {
        code: 'ERR_INVALID_SCOPE',
      });
    });

    test('rotation with an overlap counts against maxTokensPerUser (409); without one it replaces', async () => {
      const limited = new TokenService({ store: makeStore(), maxTokensPerUser: 2 });
      const limitedApp = makeApp(limited);
      const rotate = (id: string, body: object) =>
        request(limitedApp).post(`/session/tokens/${id}/rotate`).set(as('alice')).send(body);
      const first = await limited.issue({ user: 'alice', expiresIn: '1h' });
      await rotate(first.id, { overlap: '7d' }).expect(201);
      for (let i = 0; i < 3; i++) {
        const res = await rotate(first.id, { overlap: '7d' }).expect(409);
        assert.equal(res.body.error.code, 'ERR_TOKEN_LIMIT');
        assert.match(res.body.error.message, /maxTokensPerUser/);
      }
      assert.equal((await limited.list('alice')).length, 2);
      // At the limit, a rotation without an overlap still swaps one token for another.
      const swapped = await rotate(first.id, {}).expect(201);
      assert.equal((await limited.list('alice')).length, 2);
      await rotate(swapped.body.id, { overlap: 0 }).expect(201);
      assert.equal((await limited.list('alice')).length, 2);
    });
  });

  describe('reading, revoking, rotating: own tokens only', () => {
    let bobs: string; // id of a token of bob's
    let bobsToken: string;
    before(async () => {
      const res = await create('bob', { expiresIn: '1h', label: 'bob ci' }).expect(201);
      bobs = res.body.id;
      bobsToken = res.body.token;
    });

    test('GET /tokens lists the user’s live tokens, newest first, with the server time', async () => {
      const first = (await create('erin', { expiresIn: '1h', label: 'first' }).expect(201)).body;
      await advance(5); // distinct creation times, for a defined order
      const second = (await create('erin', { autoRefresh: '10m', label: 'second' }).expect(201)).body;
      const res = await request(app).get('/session/tokens').set(as('erin')).expect(200);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.deepEqual(
        res.body.tokens.map((token: { id: string }) => token.id),
        [second.id, first.id],
      );
      assert.ok(!Number.isNaN(Date.parse(res.body.now)));
      const { token: _shownOnce, expiresAt, ...firstInfo } = first;
      const { expiresAt: listedExpiresAt, ...listedInfo } = res.body.tokens[1];
      // Its hard limit is an hour away: marked, for the page to show.
      assert.deepEqual(listedInfo, { ...firstInfo, expiresSoon: true });
      assert.equal('expiresSoon' in res.body.tokens[0], false, 'a sliding token without a hard limit');
      // The Redis store derives expiresAt from the key's PTTL, so it may differ by a millisecond or two.
      assert.ok(Math.abs(Date.parse(listedExpiresAt) - Date.parse(expiresAt)) <= 5);
    });

    test('GET /tokens marks expiresSoon a hard limit within 7 days, and only such', async () => {
      const soon = (await create('fay', { expiresIn: '7d' }).expect(201)).body;
      const later = (await create('fay', { expiresIn: '8d' }).expect(201)).body;
      const capped = (await create('fay', { autoRefresh: '1h', expiresIn: '3d' }).expect(201)).body;
      const res = await request(app).get('/session/tokens').set(as('fay')).expect(200);
      const marked = (id: string) =>
        res.body.tokens.find((token: { id: string }) => token.id === id).expiresSoon;
      assert.deepEqual([marked(soon.id), marked(later.id), marked(capped.id)], [true, undefined, true]);
    });

    test("another user's id is a 404 exactly like an unknown or malformed id", async () => {
      const unknown = await request(app).get('/session/tokens/0123456789abcdef').set(as('alice')).expect(404);
      const others = await request(app).get(`/session/tokens/${bobs}`).set(as('alice')).expect(404);
      const malformed = await request(app).get('/session/tokens/..%2Fx').set(as('alice')).expect(404);
      assert.deepEqual(others.body, unknown.body);
      assert.deepEqual(malformed.body, unknown.body);
      assert.deepEqual(unknown.body, { error: { code: 'ERR_TOKEN_NOT_FOUND', message: 'No such token' } });
      for (const attempt of [
        request(app).delete(`/session/tokens/${bobs}`).set(as('alice')),
        request(app).post(`/session/tokens/${bobs}/rotate`).set(as('alice')).send({}),
      ]) {
        const res = await attempt.expect(404);
        assert.deepEqual(res.body, unknown.body);
      }
      assert.ok(await works(bobsToken), "bob's token was neither revoked nor rotated");
      const own = await request(app).get(`/session/tokens/${bobs}`).set(as('bob')).expect(200);
      assert.equal(own.body.label, 'bob ci');
      assert.equal(own.body.token, undefined);
    });

    test('DELETE /tokens/:id: 204, the token stops at once; again: 404', async () => {
      const issued = (await create('frank', { expiresIn: '1h' }).expect(201)).body;
      assert.ok(await works(issued.token));
      await request(app).delete(`/session/tokens/${issued.id}`).set(as('frank')).expect(204);
      assert.equal(await works(issued.token), false);
      await request(app).delete(`/session/tokens/${issued.id}`).set(as('frank')).expect(404);
    });

    test('POST /tokens/:id/rotate: a working replacement; the old one stops, or lasts the overlap', async () => {
      const old = (
        await create('gina', { expiresIn: '2h', label: 'sync', scopes: ['node:docs:r'] }).expect(201)
      ).body;
      const res = await request(app)
        .post(`/session/tokens/${old.id}/rotate`)
        .set(as('gina'))
        .set('Content-Type', 'application/json')
        .expect(201);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers.location, `/session/tokens/${res.body.id}`);
      assert.notEqual(res.body.id, old.id);
      assert.equal(res.body.label, 'sync');
      assert.deepEqual(res.body.scopes, ['node:docs:r']);
      assert.equal(res.body.hardExpiresAt, old.hardExpiresAt, 'rotating never extends the hard limit');
      assert.equal(res.body.previous.id, old.id);
      assert.ok(await works(res.body.token));
      assert.equal(await works(old.token), false);

      const overlapped = await request(app)
        .post(`/session/tokens/${res.body.id}/rotate`)
        .set(as('gina'))
        .send({ overlap: '10m' })
        .expect(201);
      const listed = await request(app).get('/session/tokens').set(as('gina')).expect(200);
      const now = Date.parse(listed.body.now);
      const until = Date.parse(overlapped.body.previous.expiresAt);
      assert.ok(until > now && until <= now + 10 * 60_000, 'the old token lasts at most the overlap');
      assert.ok(await works(res.body.token), 'still works during the overlap');
      assert.ok(await works(overlapped.body.token));

      const bad = await request(app)
        .post(`/session/tokens/${overlapped.body.id}/rotate`)
        .set(as('gina'))
        .send({ overlap: 'soon' })
        .expect(400);
      assert.equal(bad.body.error.code, 'ERR_INVALID_DURATION');
      assert.equal(bad.body.error.field, 'overlap');
      const unknownField = await request(app)
        .post(`/session/tokens/${overlapped.body.id}/rotate`)
        .set(as('gina'))
        .send({ overlap: '1m', expiresIn: '30d' })
        .expect(400);
      assert.equal(unknownField.body.error.field, 'expiresIn');
    });

    test("DELETE /tokens revokes all the user's tokens and nobody else's", async () => {
      const mine = [
        (await create('hank', { expiresIn: '1h' }).expect(201)).body.token,
        (await create('hank', { autoRefresh: '5m' }).expect(201)).body.token,
      ];
      const res = await request(app).delete('/session/tokens').set(as('hank')).expect(200);
      assert.deepEqual(res.body, { revoked: 2 });
      for (const token of mine) assert.equal(await works(token), false);
      assert.ok(await works(bobsToken));
      const empty = await request(app).get('/session/tokens').set(as('hank')).expect(200);
      assert.deepEqual(empty.body.tokens, []);
    });

    test('no authenticated user: 401 ERR_UNAUTHENTICATED, for every route', async () => {
      for (const attempt of [
        request(app).get('/session/tokens'),
        request(app).post('/session/tokens').send({ expiresIn: '1h' }),
        request(app).get(`/session/tokens/${bobs}`),
        request(app).delete(`/session/tokens/${bobs}`),
        request(app).delete('/session/tokens'),
      ]) {
        const res = await attempt.expect(401);
        assert.equal(res.body.error.code, 'ERR_UNAUTHENTICATED');
      }
      assert.ok(await works(bobsToken));
    });

    test('other methods: 405 with Allow', async () => {
      const res = await request(app).put('/session/tokens').set(as('bob')).expect(405);
      assert.equal(res.headers.allow, 'GET, HEAD, POST, DELETE');
      assert.equal(res.body.error.code, 'ERR_METHOD_NOT_ALLOWED');
      await request(app).post(`/session/tokens/${bobs}`).set(as('bob')).expect(405);
      await request(app).get(`/session/tokens/${bobs}/rotate`).set(as('bob')).expect(405);
    });

    test('getLogin decides whose tokens they are', async () => {
      const custom = express5();
      custom.use(
        tokenRouter({ tokens, getLogin: (req) => req.get('x-user-id') && `user-${req.get('x-user-id')}` }),
      );
      const res = await request(custom)
        .post('/tokens')
        .set('X-User-Id', '7')
        .send({ expiresIn: '1h' })
        .expect(201);
      assert.equal(res.body.user, 'user-7');
      await request(custom).get('/tokens').expect(401);
    });
  });

  describe('behind personalTokenAuth: a token manages at most what it could itself do', () => {
    test('an unscoped token manages all of its user’s tokens', async () => {
      const caller = await tokens.issue({ user: 'ivan', autoRefresh: '10m' });
      const other = await tokens.issue({ user: 'ivan', expiresIn: '1h', scopes: ['node:docs:r'] });
      const listed = await request(app).get('/pat/tokens').set(bearer(caller.token)).expect(200);
      assert.deepEqual(
        listed.body.tokens.map((token: { id: string }) => token.id).sort(),
        [caller.id, other.id].sort(),
      );
      const created = await request(app)
        .post('/pat/tokens')
        .set(bearer(caller.token))
        .send({ autoRefresh: '10m', scopes: ['node:root:rw'] })
        .expect(201);
      assert.equal(created.body.user, 'ivan');
      await request(app).delete(`/pat/tokens/${other.id}`).set(bearer(caller.token)).expect(204);
    });

    test('a scoped token creates only narrower tokens (403 naming the field otherwise)', async () => {
      const caller = await tokens.issue({ user: 'judy', expiresIn: '2h', scopes: ['node:docs:r'] });
      const post = (body: object) => request(app).post('/pat/tokens').set(bearer(caller.token)).send(body);
      const ok = await post({ expiresIn: '1h', scopes: ['node:reports:r'] }).expect(201);
      assert.deepEqual(ok.body.scopes, ['node:reports:r']);
      for (const [body, code, field] of [
        [{ expiresIn: '1h', scopes: ['node:docs:rw'] }, 'ERR_SCOPE_BROADER_THAN_CALLER', 'scopes'],
        [{ expiresIn: '1h', scopes: ['node:private:r'] }, 'ERR_SCOPE_BROADER_THAN_CALLER', 'scopes'],
        [{ expiresIn: '1h' }, 'ERR_SCOPE_BROADER_THAN_CALLER', 'scopes'],
        [{ expiresIn: '3h', scopes: ['node:docs:r'] }, 'ERR_EXPIRY_LATER_THAN_CALLER', 'expiresIn'],
      ] as const) {
        const res = await post(body).expect(403);
        assert.equal(res.body.error.code, code, JSON.stringify(body));
        assert.equal(res.body.error.field, field);
      }
    });

    test('a scoped token sees, rotates and revokes only tokens it covers; broader ones are 404', async () => {
      const caller = await tokens.issue({ user: 'kim', expiresIn: '2h', scopes: ['node:docs:rw'] });
      const narrower = await tokens.issue({ user: 'kim', expiresIn: '1h', scopes: ['node:q1:r'] });
      const broader = await tokens.issue({ user: 'kim', expiresIn: '1h' });
      const elsewhere = await tokens.issue({ user: 'kim', expiresIn: '1h', scopes: ['node:notes:r'] });
      const auth = bearer(caller.token);

      const listed = await request(app).get('/pat/tokens').set(auth).expect(200);
      assert.deepEqual(
        listed.body.tokens.map((token: { id: string }) => token.id).sort(),
        [caller.id, narrower.id].sort(),
      );
      for (const hidden of [broader, elsewhere]) {
        await request(app).get(`/pat/tokens/${hidden.id}`).set(auth).expect(404);
        // Rotating a broader token would hand its replacement to the narrow caller.
        await request(app).post(`/pat/tokens/${hidden.id}/rotate`).set(auth).send({}).expect(404);
        await request(app).delete(`/pat/tokens/${hidden.id}`).set(auth).expect(404);
        assert.ok(await works(hidden.token));
      }
      const rotated = await request(app)
        .post(`/pat/tokens/${narrower.id}/rotate`)
        .set(auth)
        .send({})
        .expect(201);
      assert.deepEqual(rotated.body.scopes, ['node:q1:r']);

      const all = await request(app).delete('/pat/tokens').set(auth).expect(200);
      assert.deepEqual(all.body, { revoked: 2 }, 'the rotated narrower token and the caller itself');
      assert.equal(await works(caller.token), false);
      assert.equal(await works(rotated.body.token), false);
      assert.ok(await works(broader.token));
      assert.ok(await works(elsewhere.token));
    });

    test('a scoped token’s pages fill with tokens it covers; no cursor names another', async () => {
      const caller = await tokens.issue({ user: 'mia', expiresIn: '2h', scopes: ['node:docs:rw'] });
      const seen = [caller];
      const hidden: IssuedToken[] = [];
      // In creation order (listed newest first): tokens it covers and broader ones, interleaved.
      const made: [string[], boolean][] = [
        [[], false],
        [['node:q1:r'], true],
        [['node:notes:r'], false],
        [[], false],
        [['node:docs:r'], true],
        [['node:reports:w'], true],
        [['node:root:r'], false],
        [[], false],
      ];
      for (const [scopes, covered] of made) {
        await advance(2);
        (covered ? seen : hidden).push(await tokens.issue({ user: 'mia', expiresIn: '1h', scopes }));
      }
      const expected = seen.map((token) => token.id).reverse();
      const secretsOf = hidden.flatMap((token) => [token.id, String(token.createdAt.getTime())]);
      for (const limit of [1, 2, 3]) {
        const listed: string[] = [];
        let cursor: string | null = null;
        do {
          const query: Record<string, string | number> = { limit };
          if (cursor !== null) query.cursor = cursor;
          const page = await request(app)
            .get('/pat/tokens')
            .set(bearer(caller.token))
            .query(query)
            .expect(200);
          listed.push(...page.body.tokens.map((token: { id: string }) => token.id));
          cursor = page.body.next;
          for (const secret of secretsOf)
            assert.ok(!JSON.stringify(page.body).includes(secret), `limit ${limit}`);
          const remaining = expected.length - listed.length;
          assert.equal(page.body.tokens.length, Math.min(limit, remaining + page.body.tokens.length));
          assert.equal(cursor === null, remaining === 0, 'a cursor exactly while there is more to see');
        } while (cursor !== null);
        assert.deepEqual(listed, expected, `limit ${limit}`);
      }
      // An unscoped caller still pages through all of them.
      const full = await request(app).get('/session/tokens').set(as('mia')).query({ limit: 3 }).expect(200);
      assert.equal(full.body.tokens.length, 3);
      assert.ok(full.body.next.endsWith(`:${full.body.tokens[2].id}`));
    });

    test('a token with a hard limit cannot rotate a longer-lived one (but can rotate itself)', async () => {
      const caller = await tokens.issue({ user: 'leo', expiresIn: '1h' });
      const forever = await tokens.issue({ user: 'leo', autoRefresh: '1h' });
      const res = await request(app)
        .post(`/pat/tokens/${forever.id}/rotate`)
        .set(bearer(caller.token))
        .send({})
        .expect(403);
      assert.equal(res.body.error.code, 'ERR_EXPIRY_LATER_THAN_CALLER');
      assert.ok(await works(forever.token));
      const self = await request(app)
        .post(`/pat/tokens/${caller.id}/rotate`)
        .set(bearer(caller.token))
        .send({})
        .expect(201);
      assert.ok(await works(self.body.token));
      assert.equal(await works(caller.token), false);
    });
  });
});

describe('tokenRouter on Express 4', () => {
  test('create, list, rotate, revoke', async () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    const app = makeApp(tokens, express4 as unknown as ExpressModule);
    const created = await request(app)
      .post('/session/tokens')
      .set(as('alice'))
      .send({ expiresIn: '1h' })
      .expect(201);
    const listed = await request(app).get('/session/tokens').set(as('alice')).expect(200);
    assert.deepEqual(
      listed.body.tokens.map((token: { id: string }) => token.id),
      [created.body.id],
    );
    const bad = await request(app)
      .post('/session/tokens')
      .set(as('alice'))
      .send({ expiresIn: '1.5d' })
      .expect(400);
    assert.equal(bad.body.error.field, 'expiresIn');
    await request(app).post('/session/tokens').set(as('alice')).type('form').send('expiresIn=1h').expect(415);
    const rotated = await request(app)
      .post(`/session/tokens/${created.body.id}/rotate`)
      .set(as('alice'))
      .send({ overlap: 0 })
      .expect(201);
    await request(app).get(`/session/tokens/${created.body.id}`).set(as('alice')).expect(404);
    await request(app).delete(`/session/tokens/${rotated.body.id}`).set(as('alice')).expect(204);
    await request(app).get('/pat/me').set(bearer(rotated.body.token)).expect(401);
  });
});

describe('tokenRouter with the store unavailable', () => {
  // Real failures, no stubs: a Redis port where nothing listens, and a server that accepts and never answers.
  let silent: Server;
  const sockets = new Set<Socket>();
  const clients: Redis[] = [];
  before(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  async function refusedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  test('503 ERR_STORE_UNAVAILABLE with Retry-After, within the timeout', async () => {
    const silentPort = (silent.address() as { port: number }).port;
    for (const port of [await refusedPort(), silentPort]) {
      const client = new Redis({
        host: '127.0.0.1',
        port,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => {});
      clients.push(client);
      const store: TokenStore = new RedisTokenStore(client, { prefix: 'test:router-down:' });
      const tokens = new TokenService({ store, timeout: 300 });
      const app = express5();
      app.use((req, _res, next) => {
        req.user = { login: 'alice' } as Express.User;
        next();
      });
      app.use(tokenRouter({ tokens, retryAfter: 5 }));
      for (const attempt of [
        request(app).get('/tokens'),
        request(app).post('/tokens').send({ expiresIn: '1h' }),
        request(app).delete('/tokens/0123456789abcdef'),
        request(app).delete('/tokens'),
      ]) {
        const res = await attempt.expect(503);
        assert.equal(res.headers['retry-after'], '5');
        assert.equal(res.body.error.code, 'ERR_STORE_UNAVAILABLE');
      }
    }
  });
});
