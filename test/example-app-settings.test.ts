// The example app's browser side, in process: sign-in with a session cookie, CSRF checks on every
// state-changing request, the /settings/tokens page and its JSON API, and /api/tokens for scripts. The
// injected clock moves session idle time as it moves token time. (The page itself runs in Chromium in
// example-app-browser.test.ts.)
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../example-app/app';
import { SESSION_COOKIE } from '../example-app/session-auth';
import { SessionStore } from '../example-app/sessions';
import { DEMO_PASSWORD, type DemoUser, UserDirectory } from '../example-app/users';
import { type InProcessApp, startInProcess } from './support/example-app';

const HOUR = 3_600_000;

function sessionCookieOf(res: request.Response): string | undefined {
  const cookies = res.headers['set-cookie'] as unknown as string[] | undefined;
  return cookies?.find((cookie) => cookie.startsWith(`${SESSION_COOKIE}=`));
}
const cookieValue = (cookie: string | undefined) => cookie?.split(';')[0]?.split('=')[1];
const formCsrf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const metaCsrf = (html: string) => /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1] ?? '';

/** A browser-like agent (it keeps cookies) of this app, signed in. */
async function signedInAgent(app: Express, login: string) {
  const agent = request.agent(app);
  const form = await agent.get('/signin').expect(200);
  await agent
    .post('/signin')
    .type('form')
    .send({ _csrf: formCsrf(form.text), login, password: DEMO_PASSWORD })
    .expect(303)
    .expect('Location', '/settings/tokens');
  return agent;
}

describe('example-app sign-in, sessions and CSRF', () => {
  let demo: InProcessApp;
  before(() => {
    demo = startInProcess();
  });
  after(() => demo.close());

  /** A browser-like agent (it keeps cookies), signed in; returns it and the page's CSRF token. */
  async function signIn(login = 'admin') {
    const agent = await signedInAgent(demo.app, login);
    const page = await agent.get('/settings/tokens').expect(200);
    return { agent, csrf: metaCsrf(page.text), page };
  }

  test('the settings page sends a visitor without a session to the sign-in form', async () => {
    await request(demo.app).get('/settings/tokens').expect(303).expect('Location', '/signin');
    await request(demo.app).get('/settings').expect(303).expect('Location', '/settings/tokens');
  });

  test('the sign-in form: a random HttpOnly, SameSite=Lax cookie, a CSRF field, the demo password, a strict CSP', async () => {
    const res = await request(demo.app).get('/signin').expect(200);
    const cookie = sessionCookieOf(res)!;
    assert.match(
      cookie,
      new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax; Max-Age=28800$`),
    );
    assert.match(formCsrf(res.text), /^[A-Za-z0-9_-]{43}$/);
    assert.match(res.text, new RegExp(`the password <code>${DEMO_PASSWORD}</code>`));
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'.*frame-ancestors 'none'/);
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  test('a sign-in without the form’s CSRF token is refused (login CSRF)', async () => {
    const agent = request.agent(demo.app);
    await agent.get('/signin').expect(200);
    const res = await agent
      .post('/signin')
      .type('form')
      .send({ _csrf: 'forged', login: 'admin', password: DEMO_PASSWORD })
      .expect(403);
    assert.match(res.text, /form had expired/);
    await agent.get('/settings/tokens').expect(303);
    // Without any session cookie at all, the same.
    await request(demo.app)
      .post('/signin')
      .type('form')
      .send({ _csrf: 'x', login: 'admin', password: DEMO_PASSWORD })
      .expect(403);
  });

  test('a wrong password, an unknown login and a disabled user are refused alike', async () => {
    for (const [login, password] of [
      ['admin', 'wrong'],
      ['nobody', DEMO_PASSWORD],
      ['carol', DEMO_PASSWORD],
    ]) {
      const agent = request.agent(demo.app);
      const form = await agent.get('/signin').expect(200);
      const res = await agent
        .post('/signin')
        .type('form')
        .send({ _csrf: formCsrf(form.text), login, password })
        .expect(401);
      assert.match(res.text, /Wrong login or password, or a disabled account/, login);
      await agent.get('/settings/tokens').expect(303);
    }
  });

  test('signing in starts a new session: the id from before sign-in is worth nothing (no fixation)', async () => {
    const agent = request.agent(demo.app);
    const form = await agent.get('/signin').expect(200);
    const before = cookieValue(sessionCookieOf(form));
    const signedIn = await agent
      .post('/signin')
      .type('form')
      .send({ _csrf: formCsrf(form.text), login: 'alice', password: DEMO_PASSWORD })
      .expect(303);
    const afterSignIn = cookieValue(sessionCookieOf(signedIn));
    assert.ok(before && afterSignIn && before !== afterSignIn);
    await request(demo.app).get('/settings/tokens').set('Cookie', `${SESSION_COOKIE}=${before}`).expect(303);
    const page = await request(demo.app)
      .get('/settings/tokens')
      .set('Cookie', `${SESSION_COOKIE}=${afterSignIn}`)
      .expect(200);
    assert.match(page.text, /Signed in as <strong>Alice<\/strong>/);
    await agent.get('/signin').expect(303).expect('Location', '/settings/tokens');
  });

  test('the page API: reading needs the session; every change also needs the CSRF token', async () => {
    const { agent, csrf } = await signIn();
    assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
    await request(demo.app).get('/settings/api/tokens').expect(401);
    await agent.get('/settings/api/tokens').expect(200);

    for (const header of [{}, { 'X-CSRF-Token': 'forged' }]) {
      const res = await agent.post('/settings/api/tokens').set(header).send({ expiresIn: '1h' }).expect(403);
      assert.equal(res.body.error.code, 'ERR_CSRF_TOKEN');
    }
    const created = await agent
      .post('/settings/api/tokens')
      .set('X-CSRF-Token', csrf)
      .send({ expiresIn: '1h', label: 'from the page' })
      .expect(201);
    assert.equal(created.body.user, 'admin');
    for (const attempt of [
      agent.post(`/settings/api/tokens/${created.body.id}/rotate`).send({}),
      agent.delete(`/settings/api/tokens/${created.body.id}`),
      agent.delete('/settings/api/tokens'),
    ]) {
      await attempt.expect(403);
    }
    assert.ok(await demo.tokens.verify(created.body.token), 'nothing changed without the CSRF token');
    await agent.delete(`/settings/api/tokens/${created.body.id}`).set('X-CSRF-Token', csrf).expect(204);
    assert.equal(await demo.tokens.verify(created.body.token), null);
  });

  test("another session's CSRF token does not do", async () => {
    const admin = await signIn('admin');
    const alice = await signIn('alice');
    await admin.agent
      .post('/settings/api/tokens')
      .set('X-CSRF-Token', alice.csrf)
      .send({ expiresIn: '1h' })
      .expect(403);
  });

  test('a session cookie never authenticates /api or /dav: those take tokens only', async () => {
    const { agent } = await signIn();
    await agent.get('/api/me').expect(401);
    await agent.get('/api/tokens').expect(401);
    await agent.get('/dav/').expect(401);
  });

  test('a session ends after 8 idle hours, not while it is used', async () => {
    const { agent } = await signIn();
    demo.clock.now += 7 * HOUR;
    await agent.get('/settings/api/tokens').expect(200);
    demo.clock.now += 7 * HOUR;
    await agent.get('/settings/tokens').expect(200);
    demo.clock.now += 8 * HOUR + 1;
    await agent.get('/settings/tokens').expect(303);
    await agent.get('/settings/api/tokens').expect(401);
  });

  test('signing out needs the CSRF token, then ends the session and clears the cookie', async () => {
    const { agent, page } = await signIn();
    await agent.post('/signout').type('form').send({ _csrf: 'forged' }).expect(403);
    await agent.get('/settings/tokens').expect(200);
    const res = await agent
      .post('/signout')
      .type('form')
      .send({ _csrf: formCsrf(page.text) })
      .expect(303)
      .expect('Location', '/signin');
    assert.match(sessionCookieOf(res) ?? '', new RegExp(`^${SESSION_COOKIE}=; .*Max-Age=0`));
    await agent.get('/settings/tokens').expect(303);
  });

  test('the page and its assets', async () => {
    const { page } = await signIn();
    assert.match(page.text, /<script src="\/assets\/settings.js" defer><\/script>/);
    assert.doesNotMatch(page.text, /<script>/, 'no inline script: the CSP forbids it');
    const targets = JSON.parse(
      /<script type="application\/json" id="scope-targets">(.*?)<\/script>/s.exec(page.text)![1]!,
    );
    assert.ok(
      targets.some(
        (node: { path: string; uuid: string }) => node.path === '/docs' && node.uuid === demo.uuidOf('/docs'),
      ),
    );
    const script = await request(demo.app).get('/assets/settings.js').expect(200);
    assert.match(String(script.headers['content-type']), /javascript/);
    await request(demo.app).get('/assets/style.css').expect(200).expect('Content-Type', /css/);
  });
});

describe('example-app /api/tokens: scripts manage tokens with a token', () => {
  let demo: InProcessApp;
  before(() => {
    demo = startInProcess();
  });
  after(() => demo.close());

  test('create, list and revoke with a Bearer token; a scoped token only creates narrower ones', async () => {
    const full = await demo.tokens.issue({ user: 'alice', expiresIn: '1h' });
    const auth = { Authorization: `Bearer ${full.token}` };
    const created = await request(demo.app)
      .post('/api/tokens')
      .set(auth)
      .send({ expiresIn: '30m', label: 'ci', scopes: [`node:${demo.uuidOf('/docs')}:r`] })
      .expect(201);
    assert.equal(created.body.user, 'alice');
    const listed = await request(demo.app).get('/api/tokens').set(auth).expect(200);
    assert.equal(listed.body.tokens.length, 2);

    const scoped = { Authorization: `Bearer ${created.body.token}` };
    const narrower = await request(demo.app)
      .post('/api/tokens')
      .set(scoped)
      .send({ expiresIn: '10m', scopes: [`node:${demo.uuidOf('/docs/reports')}:r`] })
      .expect(201);
    assert.deepEqual(narrower.body.scopes, [`node:${demo.uuidOf('/docs/reports')}:r`]);
    const broader = await request(demo.app)
      .post('/api/tokens')
      .set(scoped)
      .send({ expiresIn: '10m', scopes: [`node:${demo.uuidOf('/private')}:r`] })
      .expect(403);
    assert.equal(broader.body.error.code, 'ERR_SCOPE_BROADER_THAN_CALLER');
    // The full-access token is invisible to the scoped one.
    await request(demo.app).delete(`/api/tokens/${full.id}`).set(scoped).expect(404);
    await request(demo.app).delete(`/api/tokens/${created.body.id}`).set(auth).expect(204);
    await request(demo.app).get('/api/me').set(scoped).expect(401);
  });
});

describe('example-app sessions of a user disabled meanwhile', () => {
  test('end at their next request, as the user’s tokens stop', async () => {
    const demo = startInProcess();
    try {
      const dora: DemoUser = { login: 'dora', name: 'Dora', disabled: false };
      const app = createApp({ tokens: demo.tokens, nodes: demo.nodes, users: new UserDirectory([dora]) });
      const agent = await signedInAgent(app, 'dora');
      await agent.get('/settings/tokens').expect(200);
      dora.disabled = true;
      await agent.get('/settings/tokens').expect(303);
      dora.disabled = false;
      await agent.get('/settings/tokens').expect(303); // the session is gone, not just paused
    } finally {
      demo.close();
    }
  });
});

describe('SessionStore', () => {
  test('keeps at most maxSessions signed-in sessions, dropping the oldest first', () => {
    const sessions = new SessionStore({ maxSessions: 3 });
    const ids = Array.from({ length: 5 }, () => sessions.create('admin').id);
    assert.equal(sessions.size, 3);
    assert.equal(sessions.get(ids[0]), null);
    assert.equal(sessions.get(ids[1]), null);
    assert.equal(sessions.get(ids[4])?.id, ids[4]);
  });

  test('20,000 anonymous sessions evict only their own oldest, never a signed-in one', () => {
    const sessions = new SessionStore(); // the defaults the app runs with
    const signedIn = sessions.create('admin');
    const anonymous = Array.from({ length: 20_000 }, () => sessions.create(null).id);
    assert.equal(sessions.get(signedIn.id)?.login, 'admin');
    assert.equal(sessions.anonymousSize, 2_000, 'the anonymous pool stays at its cap');
    assert.equal(sessions.size, 2_001);
    assert.equal(sessions.get(anonymous[0]), null, 'the oldest anonymous sessions went');
    assert.equal(sessions.get(anonymous.at(-1))?.login, null, 'the newest are kept');
  });
});

describe('example-app under a flood of sign-in page loads', () => {
  test('do not sign anybody out, and the anonymous sessions they leave stay capped', async () => {
    const demo = startInProcess();
    const sessions = new SessionStore({ maxSessions: 20, maxAnonymousSessions: 10 });
    const app = createApp({ tokens: demo.tokens, nodes: demo.nodes, sessions });
    const server = app.listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const agent = await signedInAgent(app, 'admin');
      // Cookieless loads, as a flood would send them, over kept-alive connections (fetch pools them).
      const { port } = server.address() as AddressInfo;
      const loads = 20 * 20; // twenty times what the whole store holds
      const loaders = Array.from({ length: 8 }, async () => {
        for (let i = 0; i < loads / 8; i++) {
          const res = await fetch(`http://127.0.0.1:${port}/signin`);
          assert.equal(res.status, 200);
          await res.arrayBuffer();
        }
      });
      await Promise.all(loaders);
      await agent.get('/settings/tokens').expect(200);
      assert.equal(sessions.anonymousSize, 10);
      assert.equal(sessions.size, 11);
    } finally {
      server.close();
      demo.close();
    }
  });
});
