// The example app's sign-in form under a flood and under forgery. Loading the form allocates nothing on the
// server (its CSRF token is a signed double-submit, example-app/sign-in-csrf.ts), so no number of anonymous
// loads can push out the form of a visitor about to sign in, nor grow the server's memory; and a sign-in
// posted with a token that is forged, expired, tampered with or another browser's is refused (403) and
// starts no session.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Express } from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { createApp } from '../example-app/app';
import { SESSION_COOKIE } from '../example-app/session-auth';
import { SessionStore } from '../example-app/sessions';
import { SIGN_IN_COOKIE } from '../example-app/sign-in-csrf';
import { DEMO_PASSWORD } from '../example-app/users';
import { type InProcessApp, startInProcess } from './support/example-app';

const ANONYMOUS_VISITS = 5_000;
const FORM_LIFETIME = 30 * 60_000;

const formCsrf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const metaCsrf = (html: string) => /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1] ?? '';

/** The `name=value` of each cookie a response sets, by name. */
function setCookies(setCookie: string[] | string | null | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const line of [setCookie ?? []].flat()) {
    const pair = line.split(';')[0]!;
    cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
  }
  return cookies;
}

/** A browser that has loaded the sign-in form: its sign-in cookie and the form's token. */
interface LoadedForm {
  nonce: string;
  token: string;
}

async function loadForm(app: Express): Promise<LoadedForm> {
  const res = await request(app).get('/signin').expect(200);
  const cookies = setCookies(res.headers['set-cookie']);
  assert.equal(cookies.has(SESSION_COOKIE), false, 'loading the form starts no session');
  return { nonce: cookies.get(SIGN_IN_COOKIE)!, token: formCsrf(res.text) };
}

function postSignIn(app: Express, nonce: string | null, token: string, login = 'admin') {
  const post = request(app).post('/signin').type('form');
  if (nonce !== null) post.set('Cookie', `${SIGN_IN_COOKIE}=${nonce}`);
  return post.send({ _csrf: token, login, password: DEMO_PASSWORD });
}

function appWithSessions(demo: InProcessApp): { app: Express; sessions: SessionStore } {
  const sessions = new SessionStore({ now: () => demo.tokens.now() });
  return { app: createApp({ tokens: demo.tokens, nodes: demo.nodes, sessions }), sessions };
}

describe('example-app sign-in under a flood of anonymous visits', () => {
  test(`${ANONYMOUS_VISITS} anonymous visits: no session kept, a form loaded before still signs in, so does a fresh visitor`, async () => {
    const demo = startInProcess();
    const { app, sessions } = appWithSessions(demo);
    const server = app.listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const { port } = server.address() as AddressInfo;
      const signedIn = request.agent(app);
      const form = await signedIn.get('/signin').expect(200);
      await signedIn
        .post('/signin')
        .type('form')
        .send({ _csrf: formCsrf(form.text), login: 'alice', password: DEMO_PASSWORD })
        .expect(303);
      const victim = await loadForm(app);

      // Cookieless loads, as a flood sends them, over kept-alive connections (fetch pools them).
      const loaders = Array.from({ length: 8 }, async () => {
        for (let i = 0; i < ANONYMOUS_VISITS / 8; i++) {
          const res = await fetch(`http://127.0.0.1:${port}/signin`);
          assert.equal(res.status, 200);
          assert.equal(setCookies(res.headers.getSetCookie()).has(SESSION_COOKIE), false);
          await res.arrayBuffer();
        }
      });
      await Promise.all(loaders);
      assert.equal(sessions.size, 1, 'the anonymous visits left nothing on the server: only alice’s session');

      await postSignIn(app, victim.nonce, victim.token).expect(303).expect('Location', '/settings/tokens');
      const fresh = await loadForm(app);
      const signIn = await postSignIn(app, fresh.nonce, fresh.token).expect(303);
      const session = setCookies(signIn.headers['set-cookie']).get(SESSION_COOKIE)!;
      await request(app).get('/settings/tokens').set('Cookie', `${SESSION_COOKIE}=${session}`).expect(200);
      await signedIn.get('/settings/tokens').expect(200);
      assert.equal(sessions.size, 3);
    } finally {
      server.close();
      demo.close();
    }
  });

  test('signing in again and again evicts only that login’s own sessions, never another’s', async () => {
    const demo = startInProcess();
    const sessions = new SessionStore({ now: () => demo.tokens.now(), maxSessionsPerLogin: 3 });
    const app = createApp({ tokens: demo.tokens, nodes: demo.nodes, sessions });
    try {
      const alice = await loadForm(app);
      const aliceSession = setCookies(
        (await postSignIn(app, alice.nonce, alice.token, 'alice').expect(303)).headers['set-cookie'],
      ).get(SESSION_COOKIE)!;
      for (let i = 0; i < 20; i++) {
        const form = await loadForm(app);
        await postSignIn(app, form.nonce, form.token, 'admin').expect(303);
      }
      assert.equal(sessions.size, 4, 'three of admin’s, one of alice’s');
      await request(app)
        .get('/settings/tokens')
        .set('Cookie', `${SESSION_COOKIE}=${aliceSession}`)
        .expect(200);
    } finally {
      demo.close();
    }
  });
});

describe('example-app sign-in and session CSRF tokens, forged', () => {
  let demo: InProcessApp;
  let app: Express;
  let sessions: SessionStore;
  before(() => {
    demo = startInProcess();
    ({ app, sessions } = appWithSessions(demo));
  });
  after(() => demo.close());

  /** Turns a good form token into a wrong one, each way a forger might. */
  const forgery = fc.oneof(
    fc.record({ kind: fc.constant('any text' as const), text: fc.string({ maxLength: 80 }) }),
    fc.record({
      kind: fc.constant('one character changed' as const),
      at: fc.nat(),
      by: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.'),
    }),
    fc.record({
      kind: fc.constant('signed with another key' as const),
      key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    }),
    fc.record({ kind: fc.constant('expired' as const), after: fc.integer({ min: 0, max: 48 * 3_600_000 }) }),
    fc.record({ kind: fc.constant('another browser’s' as const) }),
    fc.record({ kind: fc.constant('no cookie' as const) }),
  );

  test('a sign-in posted with a forged, tampered, expired or another browser’s form token is 403 and starts no session', async () => {
    await fc.assert(
      fc.asyncProperty(forgery, async (forged) => {
        const form = await loadForm(app);
        let nonce: string | null = form.nonce;
        let token = form.token;
        switch (forged.kind) {
          case 'any text':
            token = forged.text;
            break;
          case 'one character changed': {
            const at = forged.at % token.length;
            fc.pre(token[at] !== forged.by);
            token = token.slice(0, at) + forged.by + token.slice(at + 1);
            break;
          }
          case 'signed with another key': {
            const expiresAt = demo.tokens.now() + FORM_LIFETIME;
            const mac = createHmac('sha256', Buffer.from(forged.key))
              .update(`sign-in\0${form.nonce}\0${expiresAt}`)
              .digest('base64url');
            token = `${expiresAt}.${mac}`;
            break;
          }
          case 'expired':
            demo.clock.now += FORM_LIFETIME + forged.after;
            break;
          case 'another browser’s':
            token = (await loadForm(app)).token;
            break;
          case 'no cookie':
            nonce = null;
        }
        const before = sessions.size;
        const res = await postSignIn(app, nonce, token).expect(403);
        assert.match(res.text, /form had expired/);
        assert.equal(setCookies(res.headers['set-cookie']).has(SESSION_COOKIE), false, 'no session cookie');
        assert.equal(sessions.size, before, 'no session kept');
        // The refusal shows a fresh form, which works.
        const retry = setCookies(res.headers['set-cookie']).get(SIGN_IN_COOKIE) ?? form.nonce;
        await postSignIn(app, retry, formCsrf(res.text)).expect(303);
      }),
      { numRuns: 300 },
    );
  });

  test('a token change posted with a forged or another session’s CSRF token is 403 and changes nothing', async () => {
    const signIn = async (login: string) => {
      const form = await loadForm(app);
      const res = await postSignIn(app, form.nonce, form.token, login).expect(303);
      const cookie = `${SESSION_COOKIE}=${setCookies(res.headers['set-cookie']).get(SESSION_COOKIE)}`;
      const page = await request(app).get('/settings/tokens').set('Cookie', cookie).expect(200);
      return { cookie, csrf: metaCsrf(page.text) };
    };
    const admin = await signIn('admin');
    const alice = await signIn('alice');
    const listed = async () =>
      (await request(app).get('/settings/api/tokens').set('Cookie', admin.cookie).expect(200)).body;
    const before = await listed();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 80 }).filter((text) => text !== admin.csrf),
          fc.constant(alice.csrf),
          fc.constant(`${admin.csrf}x`),
          fc.constant(randomBytes(32).toString('base64url')),
        ),
        fc.constantFrom('create', 'revoke all', 'sign out'),
        async (csrf, action) => {
          const attempt =
            action === 'create'
              ? request(app).post('/settings/api/tokens').send({ expiresIn: '1h' })
              : action === 'revoke all'
                ? request(app).delete('/settings/api/tokens')
                : request(app).post('/signout').type('form').send({ _csrf: csrf });
          // A header value cannot hold every character: such a token goes in the form field alone.
          const headerSafe = /^[\x20-\x7e]*$/.test(csrf) && csrf.trim() === csrf;
          if (action !== 'sign out' && headerSafe) attempt.set('X-CSRF-Token', csrf);
          await attempt.set('Cookie', admin.cookie).expect(403);
        },
      ),
      { numRuns: 300 },
    );
    assert.deepEqual(await listed(), before, 'no token created or revoked');
    await request(app).get('/settings/tokens').set('Cookie', admin.cookie).expect(200);
  });
});
