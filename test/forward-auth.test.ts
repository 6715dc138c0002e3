import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express5 from 'express';
import express4 from 'express4';
import fc from 'fast-check';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { destinationPath, normalisePath } from '../lib/http/request-target';
import {
  type ForwardAuthOptions,
  forwardAuth,
  type ResolveNode,
  type TokenEvent,
  TokenService,
} from '../lib/index';
import { tampered } from './support/forward-auth-e2e';
import { unavailableStore } from './support/unavailable-store';

const basic = (login: string, password: string) =>
  `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}`;

// The test's mapping: the first path segment is the folder's node id; reads need r, the rest w.
const READS = new Set(['GET', 'HEAD', 'PROPFIND', 'OPTIONS']);
const byFirstSegment: ResolveNode = (method, path) => {
  const folder = path.split('/')[1];
  if (!folder) return null;
  return { nodeId: folder, permission: READS.has(method) ? 'r' : method === 'COPY' ? 'r' : 'w' };
};

const FUZZ_RUNS = 300;

for (const [version, express] of [
  ['Express 5', express5],
  ['Express 4', express4],
] as const) {
  describe(`forwardAuth() on ${version}`, () => {
    const store = new MemoryTokenStore();
    const tokens = new TokenService({ store });

    function makeApp(options: Partial<ForwardAuthOptions> = {}) {
      const app = express();
      app.use('/auth', forwardAuth({ tokens, resolveNode: byFirstSegment, ...options }));
      return app;
    }
    const app = makeApp();
    /** The sub-request as nginx sends it, to `on` (default the app with byFirstSegment). */
    const ask = (method: string, uri: string, authorization?: string, on = app) => {
      const req = request(on).get('/auth').set('X-Original-Method', method).set('X-Original-URI', uri);
      return authorization === undefined ? req : req.set('Authorization', authorization);
    };

    test('an unscoped token passes, as Bearer or as the Basic password, with the identity in headers', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      for (const authorization of [`Bearer ${issued.token}`, basic('admin', issued.token)]) {
        const res = await ask('PUT', '/any/where', authorization).expect(200);
        assert.equal(res.headers['x-auth-user'], 'admin');
        assert.equal(res.headers['x-auth-token-id'], issued.id);
        assert.equal(res.headers['x-auth-scopes'], '');
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.equal(res.text, '');
      }
    });

    test("Caddy's and Traefik's X-Forwarded-Method/Uri work as well as nginx's X-Original-*", async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
      const res = await request(app)
        .get('/auth')
        .set('X-Forwarded-Method', 'GET')
        .set('X-Forwarded-Uri', '/docs/a.txt?download=1')
        .set('Authorization', `Bearer ${issued.token}`)
        .expect(200);
      assert.equal(res.headers['x-auth-scopes'], 'node:docs:r');
    });

    test('no credentials: 401 with both challenges, Basic first (nginx 1.22 passes on only the first)', async () => {
      const res = await ask('GET', '/').expect(401);
      // Two header lines on the wire; Node joins them.
      assert.equal(
        res.headers['www-authenticate'],
        'Basic realm="Users", charset="UTF-8", Bearer realm="Users"',
      );
      assert.equal(res.headers['x-auth-user'], undefined);
    });

    test('a wrong, revoked or malformed token is refused; a revoked one at once', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      await ask('GET', '/a', `Bearer ${issued.token}`).expect(200);
      await ask('GET', '/a', basic('bob', issued.token)).expect(401);
      await ask('GET', '/a', `Bearer ${tampered(issued.token)}`).expect(401);
      await ask('GET', '/a', 'Bearer a b').expect(400);
      await tokens.revoke(issued.id);
      const res = await ask('GET', '/a', `Bearer ${issued.token}`).expect(401);
      assert.ok(!JSON.stringify(res.headers).includes(issued.token));
    });

    test('identity headers a client sent are never echoed: only the token decides', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
      const res = await ask('GET', '/docs', `Bearer ${issued.token}`)
        .set('X-Auth-User', 'root')
        .set('X-Auth-Scopes', '')
        .expect(200);
      assert.equal(res.headers['x-auth-user'], 'admin');
      assert.equal(res.headers['x-auth-scopes'], 'node:docs:r');
      const anonymous = await ask('GET', '/docs').set('X-Auth-User', 'root').expect(401);
      assert.equal(anonymous.headers['x-auth-user'], undefined);
    });

    test('a scoped token: reads where it has r, 403 for writes, other folders and the root', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
      const bearer = `Bearer ${issued.token}`;
      await ask('GET', '/docs/a.txt', bearer).expect(200);
      await ask('PROPFIND', '/docs/', bearer).expect(200);
      const write = await ask('PUT', '/docs/a.txt', bearer).expect(403);
      assert.deepEqual(write.body, { error: 'insufficient_scope' });
      assert.equal(write.headers['www-authenticate'], 'Bearer realm="Users", error="insufficient_scope"');
      await ask('GET', '/photos/a.jpg', bearer).expect(403);
      await ask('PROPFIND', '/', bearer).expect(403);
      // Dot segments and encodings are resolved before the mapping sees the path.
      await ask('PUT', '/docs/../photos/a.jpg', bearer).expect(403);
      await ask('GET', '/photos/%2e%2e/docs/a.txt', bearer).expect(200);
      await ask('GET', '//docs//a.txt', bearer).expect(200);
    });

    test('COPY and MOVE also need w on the Destination', async () => {
      const reader = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
      const both = await tokens.issue({
        user: 'admin',
        expiresIn: '1h',
        scopes: ['node:docs:r', 'node:inbox:w'],
      });
      const copy = (token: string, destination: string) =>
        ask('COPY', '/docs/a.txt', `Bearer ${token}`)
          .set('X-Forwarded-Host', 'dav.example')
          .set('Destination', destination);
      await copy(reader.token, 'http://dav.example/docs/b.txt').expect(403);
      await copy(reader.token, '/inbox/b.txt').expect(403);
      await copy(both.token, 'http://dav.example/inbox/b.txt').expect(200);
      await copy(both.token, 'http://dav.example/inbox/../docs/b.txt').expect(403);
      await copy(both.token, 'http://dav.example/inbox/%2Fdocs').expect(400);
      await ask('MOVE', '/docs/a.txt', `Bearer ${both.token}`).set('Destination', '/inbox/a.txt').expect(403);
    });

    test('a Destination a server could read as another path, or on another host, is a 400', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:a:rw'] });
      const copy = (destination: string, headers: Record<string, string> = {}) =>
        ask('COPY', '/a/k.txt', `Bearer ${issued.token}`).set(headers).set('Destination', destination);
      await copy('/secret/x.txt').expect(403);
      // Go's url.Parse cuts the path at `?` and `#`, and takes what follows a leading `//` as a host.
      for (const destination of ['/secret/x.txt?://h/a/', '/secret/x.txt#://h/a/', '//a/secret/x.txt']) {
        const res = await copy(destination, { Host: 'a' }).expect(400);
        assert.deepEqual(res.body, { error: 'invalid_original_request' });
      }
      await copy('/a/y.txt').expect(200);
      // The host is the proxy's X-Forwarded-Host when it sends one (nginx's sub-request goes to the
      // auth server under another name), else Host (Caddy keeps the client's).
      await copy('http://dav.example/a/y.txt', { Host: 'dav.example' }).expect(200);
      await copy('http://dav.example/a/y.txt', { Host: 'auth', 'X-Forwarded-Host': 'dav.example' }).expect(
        200,
      );
      await copy('http://dav.example/a/y.txt', { Host: 'dav.example', 'X-Forwarded-Host': 'other' }).expect(
        400,
      );
      await copy('http://dav.example:8080/a/y.txt', { Host: 'dav.example' }).expect(400);
      await copy('http://other/a/y.txt', { Host: 'dav.example' }).expect(400);
      // Onto its own source, or into it: RFC 4918 forbids it, rclone copies a folder into itself forever.
      for (const [source, destination] of [
        ['/a/k.txt', '/a/k.txt'],
        ['/a/', '/a/moved'],
        ['/a', '/a/./b/../moved/'],
      ] as const) {
        await ask('COPY', source, `Bearer ${issued.token}`).set('Destination', destination).expect(400);
      }
    });

    test('without resolveNode only unscoped tokens pass', async () => {
      const plain = makeApp({ resolveNode: undefined });
      const scoped = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:rw'] });
      const unscoped = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const forward = (token: string) =>
        request(plain)
          .get('/auth')
          .set('X-Forwarded-Method', 'GET')
          .set('X-Forwarded-Uri', '/docs/a.txt')
          .set('Authorization', `Bearer ${token}`);
      await forward(scoped.token).expect(403);
      await forward(unscoped.token).expect(200);
    });

    test('an original request that cannot be read is a 400, before any token lookup', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const bearer = `Bearer ${issued.token}`;
      const missing = await request(app).get('/auth').set('Authorization', bearer).expect(400);
      assert.deepEqual(missing.body, { error: 'missing_original_request' });
      // A raw `#` (nginx passes it on; a Go upstream cleans `/docs#/../secret` to `/secret`) and a dot
      // segment with parameters (`..;/`, read as `..` by servlet containers) are refused too.
      for (const uri of [
        '/a/%2f/b',
        '/a%5Cb',
        '/a/%00',
        '/a/%zz',
        '/a/%e9',
        '/..',
        '/a/../..',
        'a',
        '*',
        '/docs#/../secret/key.txt',
        '/docs?x#/../secret',
        '/docs/..;/secret',
        '/docs/.;x/a',
      ]) {
        const res = await ask('GET', uri, bearer);
        assert.equal(res.status, 400, uri);
        assert.deepEqual(res.body, { error: 'invalid_original_request' }, uri);
      }
      await ask('GE T', '/a', bearer).expect(400);
      // A client's own X-Forwarded-Uri beside the proxy's X-Original-URI: which one is true is unknown.
      await ask('GET', '/docs/a', bearer).set('X-Forwarded-Uri', '/public').expect(400);
      await ask('GET', '/docs/a', bearer).set('X-Forwarded-Uri', '/docs/a').expect(200);
      await ask('GET', '/docs/a', bearer).set('X-Forwarded-Method', 'PUT').expect(400);
    });

    test('a path sent as raw UTF-8 bytes is read as UTF-8, as the upstream reads it; other bytes are a 400', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:été:r'] });
      const bearer = `Bearer ${issued.token}`;
      // What Node's client puts on the wire for a Latin-1 string: these very bytes.
      const raw = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
      await ask('GET', raw('/été/a.txt'), bearer).expect(200);
      await ask('GET', '/%C3%A9t%C3%A9/a.txt', bearer).expect(200);
      await ask('GET', raw('/ete/a.txt'), bearer).expect(403);
      await ask('GET', '/\u00e9t\u00e9/a.txt', bearer).expect(400);
      await ask('COPY', '/été/a.txt'.replace(/é/g, '%C3%A9'), bearer)
        .set('X-Forwarded-Host', 'dav.example')
        .set('Destination', raw('http://dav.example/été/b.txt'))
        .expect(403);
    });

    test('a login that is not ASCII is percent-encoded, never a 500', async () => {
      const issued = await tokens.issue({ user: 'zoë 100%', expiresIn: '1h' });
      const res = await ask('GET', '/a', `Bearer ${issued.token}`).expect(200);
      assert.equal(res.headers['x-auth-user'], 'zo%C3%AB%20100%25');
      assert.equal(decodeURIComponent(res.headers['x-auth-user']), 'zoë 100%');
    });

    test('store unavailable: 503 with Retry-After, never a pass', async () => {
      const failing = unavailableStore();
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const down = makeApp({ tokens: new TokenService({ store: failing, timeout: 200 }) });
      const res = await ask('GET', '/a', `Bearer ${issued.token}`, down).expect(503);
      assert.equal(res.headers['retry-after'], '1');
    });

    test('throttling and audit events are those of the middleware, without the token', async () => {
      const events: TokenEvent[] = [];
      let now = Date.parse('2026-01-01T00:00:00Z');
      const clocked = new TokenService({ store: new MemoryTokenStore({ now: () => now }), now: () => now });
      const throttled = makeApp({
        tokens: clocked,
        onEvent: (event) => void events.push(event),
        throttle: { maxFailures: 2, window: '1m' },
      });
      const issued = await clocked.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
      const forward = (uri: string, token: string) => ask('GET', uri, `Bearer ${token}`, throttled);
      await forward('/docs/a', issued.token).expect(200);
      await forward('/photos/a', issued.token).expect(403);
      await forward('/docs/a', tampered(issued.token)).expect(401);
      await forward('/docs/a', tampered(issued.token)).expect(401);
      const blocked = await forward('/docs/a', issued.token).expect(429);
      assert.equal(blocked.headers['retry-after'], '60');
      now += 61_000;
      await forward('/docs/a', issued.token).expect(200);
      assert.deepEqual(
        events.map((event) => (event.type === 'rejected' ? `rejected:${event.reason}` : event.type)),
        [
          'authenticated',
          'authenticated',
          'rejected:insufficient_scope',
          'rejected:bad_checksum',
          'rejected:bad_checksum',
          'throttled',
          'authenticated',
        ],
      );
      assert.ok(!JSON.stringify(events).includes(issued.token.slice(8)));
    });

    test('the identity headers can be renamed; options that cannot work are TypeErrors', async () => {
      const renamed = makeApp({ headers: { user: 'Remote-User', tokenId: undefined } });
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const res = await ask('GET', '/a', `Bearer ${issued.token}`, renamed).expect(200);
      assert.equal(res.headers['remote-user'], 'admin');
      assert.equal(res.headers['x-auth-user'], undefined);
      assert.equal(res.headers['x-auth-token-id'], issued.id);
      assert.throws(() => forwardAuth({ tokens, headers: { user: 'X User' } }), TypeError);
      assert.throws(() => forwardAuth({ tokens: {} as TokenService }), TypeError);
      assert.throws(() => forwardAuth({ tokens, resolveNode: 'docs' as unknown as ResolveNode }), TypeError);
    });

    test('a resolveNode that answers nonsense is a programmer error (TypeError to the error handler)', async () => {
      const broken = makeApp({ resolveNode: () => ({ nodeId: 'docs', permission: 'x' as 'r' }) });
      let seen: unknown;
      broken.use((error: unknown, _req: express5.Request, res: express5.Response, _next: unknown) => {
        seen = error;
        res.status(500).end();
      });
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
      await ask('GET', '/docs', `Bearer ${issued.token}`, broken).expect(500);
      assert.ok(seen instanceof TypeError);
    });

    test(`fuzz (${FUZZ_RUNS} runs): hostile method, URI and Destination never give a 5xx or a pass without a token`, async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:rw'] });
      const text = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.stringMatching(/^(\/(%[0-9a-fA-F]{0,2}|\.\.?|[a-z]|%2[eEfF]|\\|\?|#)*){0,6}$/),
      );
      await fc.assert(
        fc.asyncProperty(
          text,
          text,
          fc.option(text),
          fc.boolean(),
          async (method, uri, destination, withToken) => {
            // Node refuses to send what no header may hold; a proxy could not send it either.
            const safe = (value: string) => value.replace(/[^\t\x20-\x7e]/g, '');
            let req = request(app)
              .get('/auth')
              .set('X-Original-Method', safe(method))
              .set('X-Original-URI', safe(uri));
            if (destination !== null) req = req.set('Destination', safe(destination));
            if (withToken) req = req.set('Authorization', `Bearer ${issued.token}`);
            const res = await req;
            assert.ok([200, 400, 401, 403].includes(res.status), `${res.status}`);
            if (!withToken) assert.notEqual(res.status, 200);
          },
        ),
        { numRuns: FUZZ_RUNS },
      );
    });
  });
}

describe('normalisePath()', () => {
  test('decodes segment by segment and resolves dot segments as servers do', () => {
    assert.equal(normalisePath('/'), '/');
    assert.equal(normalisePath('/a/b%20c/'), '/a/b c/');
    assert.equal(normalisePath('/a/./b/../c?x=/../..'), '/a/c');
    assert.equal(normalisePath('/a/b;v=1/c'), '/a/b;v=1/c');
    assert.equal(normalisePath('/a/%2e%2E/b'), '/b');
    assert.equal(normalisePath('/%C3%A9t%C3%A9'), '/été');
    assert.equal(normalisePath('/a%3Fb'), '/a?b');
  });

  test(`property (${FUZZ_RUNS * 10} runs): the result is null or a clean absolute path`, () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        const path = normalisePath(`/${text}`);
        if (text.includes('#')) assert.equal(path, null, 'a raw # is never read as the end of the path');
        if (path === null) return;
        assert.ok(path.startsWith('/'));
        const segments = path.split('/').slice(1, path.endsWith('/') && path !== '/' ? -1 : undefined);
        for (const segment of path === '/' ? [] : segments) {
          assert.ok(segment !== '' && segment !== '.' && segment !== '..', path);
          // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
          assert.ok(!/[\\\u0000-\u001f\u007f]/.test(segment), path);
        }
      }),
      { numRuns: FUZZ_RUNS * 10 },
    );
  });
});

describe('destinationPath()', () => {
  test('an absolute path, or an http(s) URI on the request host; the path stays encoded', () => {
    assert.deepEqual(destinationPath('/a/b%20c', 'h'), { ok: true, path: '/a/b%20c' });
    assert.deepEqual(destinationPath('http://h:8080/a/x', 'h:8080'), { ok: true, path: '/a/x' });
    assert.deepEqual(destinationPath('HTTPS://H/a/', 'h'), { ok: true, path: '/a/' });
    assert.deepEqual(destinationPath('http://[::1]:9/a', '[::1]:9'), { ok: true, path: '/a' });
  });

  test('another host or port is foreign; no known host is foreign', () => {
    for (const [header, host] of [
      ['http://h/a', 'g'],
      ['http://h:81/a', 'h'],
      ['http://h/a', 'h:80'],
      ['http://h/a', undefined],
      ['http://h.evil/a', 'h'],
    ] as const) {
      assert.deepEqual(destinationPath(header, host), { ok: false, error: 'foreign' }, header);
    }
  });

  test('what a server could read as another path is invalid', () => {
    for (const header of [
      '/secret/x.txt?://h/a/',
      '/secret/x.txt#://h/a/',
      '//a/secret/x.txt',
      'http://h//a/x',
      'http://h/a/x?y',
      'http://h/a/x#y',
      'http://u@h/a/x',
      'http://h@h/a/x',
      'ftp://h/a/x',
      'x-http://h/a/x',
      ' http://h/a/x',
      'http://h/a x',
      'http://h\\a/x',
      '/a\\..\\secret',
      '/a/%2e%2e%2fsecret',
      '/a/%00',
      '/a/\u00a0',
      '/a/\u200b',
      'http:/h/a',
      'http:h/a',
      'http://h',
      'a/x',
      '',
    ]) {
      assert.deepEqual(destinationPath(header, 'h'), { ok: false, error: 'invalid' }, header);
    }
  });

  test(`property (${FUZZ_RUNS * 10} runs): a path comes back only if Go's, nginx's and WHATWG's readings agree with it`, () => {
    const part = fc.constantFrom(
      'a',
      'h',
      '/',
      '//',
      '?',
      '#',
      '@',
      ':',
      '%2f',
      '%2e',
      '.',
      '..',
      '\\',
      ' ',
      'é',
      ';',
    );
    fc.assert(
      fc.property(
        fc.constantFrom('', 'http://h', 'https://h', 'http://h:1', 'http:', '//h', 'http://u@h'),
        fc.array(part, { maxLength: 8 }),
        (prefix, parts) => {
          const header = `${prefix}/${parts.join('')}`;
          const read = destinationPath(header, 'h');
          if (!read.ok) return;
          assert.ok(read.path.startsWith('/') && !read.path.startsWith('//'), header);
          assert.ok(!/[?#\\ ]/.test(header), header);
          // An absolute path, or a URI on the request's own host and port: whatever the parts formed
          // (`http:` + `/` + `/h/` is `http://h/`, which is right).
          assert.ok(/^(?:\/(?!\/)|https?:\/\/h\/)/.test(header), header);
          assert.equal(header.endsWith(read.path), true, header);
          assert.notEqual(normalisePath(read.path), null, header);
          if (prefix !== '') assert.equal(new URL(header).host, 'h', header);
        },
      ),
      { numRuns: FUZZ_RUNS * 10 },
    );
  });
});
