// No event, error message or HTTP answer ever holds a token's secret part: real
// tokens (live, revoked, expired, another user's) are sent in every wrong place fast-check can make
// (the Basic login field, both fields, padded, prefixed, wrong schemes, other headers, the query
// string, the path, every field of the token router's bodies) through the real middleware, the
// Passport strategies and the router; every event and every response (status, headers, body) is
// scanned for the token and its secret part, in any case.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import { Passport } from 'passport';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { tokenRouter } from '../lib/http/token-router';
import {
  BasicTokenStrategy,
  BearerTokenStrategy,
  type IssuedToken,
  personalTokenAuth,
  type TokenEvent,
  TokenService,
} from '../lib/index';
import { runCliInProcess } from './cli-support';
import { ancestors } from './support/node-ancestry';
import { testSession } from './support/test-session';

const PREFIX = 'pat_';
const ID_LENGTH = 16;
const SECRET_LENGTH = 43;

/** The secret part of a token: what must never be seen again once handed out. */
const secretOf = (token: string) =>
  token.slice(PREFIX.length + ID_LENGTH, PREFIX.length + ID_LENGTH + SECRET_LENGTH);

const basic = (login: string, password: string) =>
  `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}`;

interface Sent {
  method: 'get' | 'post' | 'delete';
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

describe('no token or secret in any event or answer, wherever it is pasted (property)', () => {
  const clock = { time: Date.UTC(2026, 0, 1) };
  const events: TokenEvent[] = [];
  const tokens = new TokenService({
    store: new MemoryTokenStore({ now: () => clock.time }),
    onEvent: (event) => {
      events.push(event);
    },
    maxTokensPerUser: 1_000_000,
  });

  const app = express();
  // Behind `trust proxy`, X-Forwarded-For is the client's own text, and it becomes `req.ip`.
  app.set('trust proxy', true);
  app.use('/session', testSession);
  app.use('/session', tokenRouter({ tokens }));
  app.use('/mw', personalTokenAuth({ tokens, resolveAncestors: ancestors }), tokenRouter({ tokens }));
  const passport = new Passport();
  passport.use('bearer', new BearerTokenStrategy({ tokens }));
  passport.use('basic', new BasicTokenStrategy({ tokens }));
  app.use(passport.initialize());
  app.use('/bearer', passport.authenticate('bearer', { session: false }));
  app.use('/basic', passport.authenticate('basic', { session: false }));
  // Whatever got through answers without echoing anything of the request.
  app.use((req, res) => {
    res.json({ login: req.authInfo?.login ?? null });
  });

  let live: IssuedToken;
  let scoped: IssuedToken;
  let all: IssuedToken[] = [];

  test('setup: live, scoped, revoked, expired and another user’s tokens', async () => {
    const expired = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    clock.time += 2 * 3_600_000;
    live = await tokens.issue({ user: 'alice', expiresIn: '30d', label: 'laptop' });
    scoped = await tokens.issue({ user: 'alice', autoRefresh: '1h', scopes: ['node:docs:rw'] });
    const revoked = await tokens.issue({ user: 'alice', expiresIn: '30d' });
    await tokens.revoke(revoked.id);
    const bobs = await tokens.issue({ user: 'bob', expiresIn: '30d' });
    all = [live, scoped, revoked, expired, bobs];
    // The controls: the right place works, so the wrong places below are really wrong.
    await request(app).get('/mw/x').set('Authorization', `Bearer ${live.token}`).expect(200);
    await request(app).get('/basic').set('Authorization', basic('alice', scoped.token)).expect(200);
    await request(app).get('/bearer').set('Authorization', `Bearer ${live.token}`).expect(200);
  });

  test('every wrong place, through the middleware, the strategies and the router', async (t) => {
    const token = fc.constantFrom(...all.map((issued) => issued.token));
    const before = fc.constantFrom(
      '',
      ' ',
      '  ',
      '\t',
      'Bearer ',
      'bearer ',
      'token=',
      'Token ',
      'x',
      '"',
      'Authorization: Bearer ',
    );
    const after = fc.constantFrom('', ' ', '\t', '"', ',', ';', 'x', '=');
    const shape = fc.constantFrom<(text: string) => string>(
      (text) => text,
      (text) => text.toUpperCase(),
      (text) => text.toLowerCase(),
      (text) => text.slice(PREFIX.length),
      (text) => encodeURIComponent(text).replace('_', '%5F'),
    );
    /** A token as someone might paste it: padded, prefixed, cased, without its prefix, encoded. */
    const pasted = fc
      .tuple(token, before, after, shape)
      .map(([text, start, end, transform]) => ({ text, pasted: `${start}${transform(text)}${end}` }));
    const endpoint = fc.constantFrom('/mw/x', '/mw/tokens', '/bearer', '/basic');
    const otherHeader = fc.constantFrom('X-Api-Key', 'X-Auth-Token', 'Cookie', 'X-Forwarded-For', 'Referer');
    const anyPassword = fc.oneof(
      token,
      fc.constantFrom('', 'x', 'secret'),
      pasted.map((p) => p.pasted),
    );
    const headerSafe = (text: string) => text.replace(/[\t"]/g, ' ');
    /** The router's requests: behind the app's session, or behind a live token. */
    const signedIn = (path: string): Record<string, string> =>
      path.startsWith('/session') ? { 'X-Test-Login': 'alice' } : { Authorization: `Bearer ${live.token}` };

    const placements: fc.Arbitrary<[string, Sent]>[] = [
      fc
        .tuple(pasted, anyPassword, endpoint)
        .map(([p, password, path]) => [
          p.text,
          { method: 'get', path, headers: { Authorization: basic(p.pasted, password) } },
        ]),
      fc
        .tuple(pasted, endpoint)
        .map(([p, path]) => [
          p.text,
          { method: 'get', path, headers: { Authorization: basic(p.pasted, p.pasted) } },
        ]),
      fc
        .tuple(pasted, fc.constantFrom('alice', 'bob', ''), endpoint)
        .map(([p, login, path]) => [
          p.text,
          { method: 'get', path, headers: { Authorization: basic(login, p.pasted) } },
        ]),
      fc
        .tuple(
          pasted,
          fc.constantFrom('Bearer ', 'bearer  ', 'BEARER ', 'Token ', 'Basic ', 'Bearer x '),
          endpoint,
        )
        .map(([p, scheme, path]) => [
          p.text,
          { method: 'get', path, headers: { Authorization: headerSafe(`${scheme}${p.pasted}`) } },
        ]),
      // In another header, beside credentials that fail or pass: events carry the client's IP.
      fc
        .tuple(pasted, otherHeader, endpoint, fc.constantFrom('none', 'wrong', 'live'))
        .map(([p, header, path, credentials]) => {
          const headers: Record<string, string> = { [header]: headerSafe(p.pasted) };
          if (credentials === 'wrong') headers.Authorization = basic('alice', 'wrong');
          if (credentials === 'live') headers.Authorization = `Bearer ${live.token}`;
          return [p.text, { method: 'get', path, headers }];
        }),
      fc
        .tuple(pasted, fc.constantFrom('access_token', 'token', 'password'), endpoint)
        .map(([p, name, path]) => [
          p.text,
          { method: 'get', path: `${path}?${name}=${encodeURIComponent(p.pasted)}`, headers: {} },
        ]),
      fc
        .tuple(pasted, fc.constantFrom('/mw/', '/mw/tokens/', '/session/tokens/', '/bearer/', '/basic/'))
        .map(([p, path]) => [
          p.text,
          {
            method: 'get',
            path: `${path}${encodeURIComponent(p.pasted)}`,
            headers: { 'X-Test-Login': 'alice' },
          },
        ]),
      // The router's bodies, behind a session and behind a live token.
      fc
        .tuple(
          pasted,
          fc.constantFrom('label', 'scopes', 'node', 'expiresIn', 'autoRefresh', 'key'),
          fc.constantFrom('/session/tokens', '/mw/tokens'),
        )
        .map(([p, field, path]) => {
          const body: Record<string, unknown> = { expiresIn: '1h' };
          if (field === 'scopes') body.scopes = ['node:docs:r', p.pasted];
          // As a scope's node id: a scope is stored, listed and sent upstream in clear.
          else if (field === 'node') body.scopes = ['node:docs:r', `node:${p.pasted}:r`];
          else if (field === 'key') body[p.pasted] = 1;
          else body[field] = p.pasted;
          return [p.text, { method: 'post', path, headers: signedIn(path), body }];
        }),
      fc.tuple(pasted, fc.constantFrom('/session/tokens', '/mw/tokens')).map(([p, path]) => [
        p.text,
        {
          method: 'post',
          path: `${path}/${scoped.id}/rotate`,
          headers: signedIn(path),
          body: { overlap: p.pasted },
        },
      ]),
    ];

    let cases = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(...placements), async ([text, sent]) => {
        cases++;
        const seen = events.length;
        let call = request(app)[sent.method](sent.path);
        for (const [name, value] of Object.entries(sent.headers)) call = call.set(name, value);
        const res = sent.body === undefined ? await call : await call.send(sent.body as object);
        assert.ok(res.status < 500, `${res.status} for ${JSON.stringify(sent)}`);
        const answer = JSON.stringify({ status: res.status, headers: res.headers, body: res.text });
        const emitted = JSON.stringify(events.slice(seen));
        for (const needle of [text, secretOf(text)]) {
          for (const [where, haystack] of [
            ['answer', answer],
            ['event', emitted],
          ]) {
            assert.ok(
              !haystack!.toLowerCase().includes(needle.toLowerCase()),
              `${where} holds a token (${JSON.stringify(sent).slice(0, 200)}...): ${haystack!.slice(0, 300)}`,
            );
          }
        }
      }),
      { numRuns: 3000 },
    );
    t.diagnostic(`${cases} cases, ${events.length} events scanned`);
    assert.ok(
      events.some((event) => event.type === 'rejected'),
      'the refusals were reported',
    );
  });
});

describe('a token pasted where it does not belong is never repeated', () => {
  test('the issue’s logins: " pat_…", "Bearer pat_…", "token=pat_…" are refused and not reported', async () => {
    const events: TokenEvent[] = [];
    const tokens = new TokenService({
      store: new MemoryTokenStore(),
      onEvent: (event) => void events.push(event),
    });
    const { token } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const app = express();
    app.use(personalTokenAuth({ tokens }), (_req, res) => void res.end());
    for (const login of [` ${token}`, `Bearer ${token}`, `token=${token}`, token.toUpperCase()]) {
      const result = await tokens.authenticate(token, { login });
      assert.deepEqual(result, { ok: false, reason: 'user_mismatch' });
      await request(app).get('/').set('Authorization', basic(login, token)).expect(401);
    }
    const rejected = events.filter((event) => event.type === 'rejected');
    assert.equal(rejected.length, 4);
    for (const event of rejected) assert.equal(event.login, undefined);
  });

  test('the CLI does not repeat a token given as a duration or a scope', async () => {
    const token = `pat_0123456789abcdef${'A'.repeat(43)}${'0'.repeat(17)}abcdef`;
    for (const args of [
      ['create', '-u', 'al', '-e', token],
      ['create', '-u', 'al', '-a', ` ${token}`],
      ['create', '-u', 'al', '-e', '1h', '-s', `node:x:r,${token}`],
    ]) {
      const run = await runCliInProcess(args);
      assert.equal(run.code, 2, run.stderr);
      assert.ok(!run.stderr.includes(secretOf(token)), run.stderr);
      assert.match(run.stderr, /could be a token, not repeated/);
    }
  });
});
