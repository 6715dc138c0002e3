// The example app's browser side, in process: sign-in with a session cookie, CSRF checks on every
// state-changing request, the /settings/tokens page and its JSON API, and /api/tokens for scripts. The
// injected clock moves session idle time as it moves token time. (The page itself runs in Chromium in
// example-app-browser.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Express, Request, Response } from 'express';
import request from 'supertest';
import { createApp } from '../example-app/app';
import { SESSION_COOKIE } from '../example-app/session-auth';
import { SessionStore } from '../example-app/sessions';
import { SIGN_IN_COOKIE, SignInCsrf } from '../example-app/sign-in-csrf';
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

  test('the sign-in form: a CSRF field bound to an HttpOnly, SameSite=Strict cookie, no session; a strict CSP', async () => {
    const res = await request(demo.app).get('/signin').expect(200);
    assert.equal(sessionCookieOf(res), undefined, 'no session before sign-in');
    // Not `no-referrer`: the form must post its own Origin, not `null`, or the sign-in refuses it.
    assert.equal(res.headers['referrer-policy'], 'same-origin');
    const cookies = res.headers['set-cookie'] as unknown as string[];
    assert.match(
      cookies.find((cookie) => cookie.startsWith(`${SIGN_IN_COOKIE}=`)) ?? '',
      new RegExp(`^${SIGN_IN_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=1800$`),
    );
    assert.match(formCsrf(res.text), /^[0-9]+\.[A-Za-z0-9_-]{43}$/);
    assert.match(res.text, new RegExp(`the password <code>${DEMO_PASSWORD}</code>`));
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'.*frame-ancestors 'none'/);
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  test('over HTTPS the sign-in cookie is __Host- and Secure; one without the prefix does not count there', () => {
    const signInCsrf = new SignInCsrf();
    const setCookies: string[] = [];
    const res = { append: (_name: string, value: string) => setCookies.push(value) } as unknown as Response;
    const token = signInCsrf.issue({ secure: true, headers: {} } as Request, res);
    assert.match(
      setCookies[0] ?? '',
      new RegExp(
        `^__Host-${SIGN_IN_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=1800; Secure$`,
      ),
    );
    const nonce = /=([^;]+)/.exec(setCookies[0]!)![1];
    const posted = (cookie: string) => ({ secure: true, headers: { cookie } }) as Request;
    assert.equal(signInCsrf.verify(posted(`__Host-${SIGN_IN_COOKIE}=${nonce}`), token), true);
    // A sibling subdomain can plant a cookie without the prefix, never one with it.
    assert.equal(signInCsrf.verify(posted(`${SIGN_IN_COOKIE}=${nonce}`), token), false);
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

  test('over HTTP, a sign-in cookie tossed by a sibling subdomain does not sign a visitor in to its account (login CSRF)', async () => {
    // The attacker gets a form token for a nonce of its own, plants that nonce from a sibling
    // (`Domain=` the parent, a longer `Path` so that it comes first), and makes the victim's browser
    // post the form: the browser sends the planted cookie (same site) and its own Origin.
    const attacker = await request(demo.app).get('/signin').expect(200);
    const planted = cookieValue(
      (attacker.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith(`${SIGN_IN_COOKIE}=`)),
    );
    const post = (origin: string | undefined, site?: string) => {
      const req = request(demo.app)
        .post('/signin')
        .set('Host', 'app.example.test')
        .set('Cookie', `${SIGN_IN_COOKIE}=${planted}; ${SIGN_IN_COOKIE}=the-victims-own`)
        .type('form');
      if (origin !== undefined) req.set('Origin', origin);
      if (site !== undefined) req.set('Sec-Fetch-Site', site);
      return req.send({ _csrf: formCsrf(attacker.text), login: 'alice', password: DEMO_PASSWORD });
    };
    for (const [origin, site] of [
      ['http://evil.example.test'],
      ['http://app.example.test:8080'],
      ['null'],
      ['https://app.example.test', 'same-site'],
      [undefined, 'cross-site'],
    ] as const) {
      const res = await post(origin, site);
      assert.equal(res.status, 403, `Origin ${origin}, Sec-Fetch-Site ${site}`);
      assert.equal(sessionCookieOf(res), undefined, 'no session was started');
    }
    // The same form posted from the app's own page still signs in.
    const own = await post('http://app.example.test', 'same-origin').expect(303);
    assert.ok(sessionCookieOf(own));
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

  test('signing in starts a new session: an id planted before sign-in is worth nothing (no fixation)', async () => {
    // The attacker's own signed-in session, planted in the victim's browser before she signs in.
    const attacker = await request(demo.app).get('/signin').expect(200);
    const attackerSignIn = await request(demo.app)
      .post('/signin')
      .set('Cookie', /^[^;]+/.exec(String(attacker.headers['set-cookie']))![0])
      .type('form')
      .send({ _csrf: formCsrf(attacker.text), login: 'admin', password: DEMO_PASSWORD })
      .expect(303);
    const fixed = cookieValue(sessionCookieOf(attackerSignIn))!;
    const agent = request.agent(demo.app);
    const form = await agent.get('/signin').expect(200);
    const signInCookie = /^[^;]+/.exec(String(form.headers['set-cookie']))![0];
    const signedIn = await request(demo.app)
      .post('/signin')
      .set('Cookie', `${signInCookie}; ${SESSION_COOKIE}=${fixed}`)
      .type('form')
      .send({ _csrf: formCsrf(form.text), login: 'alice', password: DEMO_PASSWORD })
      .expect(303);
    const afterSignIn = cookieValue(sessionCookieOf(signedIn));
    assert.ok(afterSignIn && afterSignIn !== fixed);
    // The planted session is ended, not taken over.
    await request(demo.app).get('/settings/tokens').set('Cookie', `${SESSION_COOKIE}=${fixed}`).expect(303);
    const page = await request(demo.app)
      .get('/settings/tokens')
      .set('Cookie', `${SESSION_COOKIE}=${afterSignIn}`)
      .expect(200);
    assert.match(page.text, /Signed in as <strong>Alice<\/strong>/);
    assert.match(
      String(signedIn.headers['set-cookie']),
      new RegExp(`${SIGN_IN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`),
      'the sign-in cookie is deleted once signed in',
    );
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
  test('keeps at most maxSessionsPerLogin sessions of one login, dropping its oldest first, and no other login’s', () => {
    const sessions = new SessionStore({ maxSessionsPerLogin: 3 });
    const alice = sessions.create('alice');
    const ids = Array.from({ length: 5 }, () => sessions.create('admin').id);
    assert.equal(sessions.size, 4);
    assert.equal(sessions.get(ids[0]), null);
    assert.equal(sessions.get(ids[1]), null);
    assert.equal(sessions.get(ids[4])?.id, ids[4]);
    assert.equal(sessions.get(alice.id)?.login, 'alice');
  });

  test('20,000 sign-ins of one login keep its newest ten, and every other login’s sessions', () => {
    const sessions = new SessionStore(); // the defaults the app runs with
    const others = ['alice', 'bob'].map((login) => sessions.create(login));
    const admin = Array.from({ length: 20_000 }, () => sessions.create('admin').id);
    assert.equal(sessions.size, 12);
    for (const other of others) assert.equal(sessions.get(other.id)?.login, other.login);
    assert.equal(sessions.get(admin[0]), null, 'the oldest went');
    assert.equal(sessions.get(admin.at(-1))?.login, 'admin', 'the newest are kept');
    for (const id of admin.slice(-10)) sessions.destroy(id);
    assert.equal(sessions.size, 2);
  });
});
