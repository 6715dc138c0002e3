import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { DEMO_FILES } from '../example-app/demo-tree';
import { type InProcessApp, startInProcess } from './support/example-app';

describe('example-app REST API', () => {
  let demo: InProcessApp;
  let admin: string; // full access
  const bearer = (token: string) => `Bearer ${token}`;
  const scoped = async (...scopes: string[]) =>
    (await demo.tokens.issue({ user: 'admin', expiresIn: '1h', scopes })).token;
  const scope = (path: string, permission: string) => `node:${demo.uuidOf(path)}:${permission}`;

  before(async () => {
    demo = startInProcess();
    admin = (await demo.tokens.issue({ user: 'admin', expiresIn: '1h' })).token;
  });
  after(() => demo.close());

  describe('GET /api/me', () => {
    test('answers login, token id, scopes and expiry, with a Bearer token', async () => {
      const issued = await demo.tokens.issue({
        user: 'alice',
        expiresIn: '2h',
        scopes: [scope('/docs', 'r')],
      });
      const res = await request(demo.app)
        .get('/api/me')
        .set('Authorization', bearer(issued.token))
        .expect(200);
      assert.deepEqual(res.body, {
        login: 'alice',
        tokenId: issued.id,
        scopes: [scope('/docs', 'r')],
        expiresAt: new Date(demo.clock.now + 2 * 3600_000).toISOString(),
      });
      assert.ok(!JSON.stringify(res.body).includes(issued.token), 'the token is never echoed');
    });

    test('accepts the token as the password of HTTP Basic, for the right login only', async () => {
      const res = await request(demo.app)
        .get('/api/me')
        .set('Authorization', demo.basic('admin', admin))
        .expect(200);
      assert.equal(res.body.login, 'admin');
      await request(demo.app).get('/api/me').set('Authorization', demo.basic('alice', admin)).expect(401);
    });

    test('without credentials: 401 with both challenges', async () => {
      const res = await request(demo.app).get('/api/me').expect(401);
      const challenges = String(res.headers['www-authenticate']);
      assert.match(challenges, /Bearer realm=/);
      assert.match(challenges, /Basic realm=/);
    });

    test('a bad token: 401', async () => {
      await request(demo.app)
        .get('/api/me')
        .set('Authorization', bearer(`${admin.slice(0, -1)}${admin.endsWith('x') ? 'y' : 'x'}`))
        .expect(401);
    });

    test("a disabled user's token is refused (resolveUser returns null for carol)", async () => {
      const carol = await demo.tokensIgnoringUsers.issue({ user: 'carol', expiresIn: '1h' });
      await request(demo.app).get('/api/me').set('Authorization', bearer(carol.token)).expect(401);
      await assert.rejects(demo.tokens.issue({ user: 'carol', expiresIn: '1h' }), {
        code: 'ERR_UNKNOWN_USER',
      });
    });

    test('a revoked token fails the next request', async () => {
      const issued = await demo.tokens.issue({ user: 'admin', expiresIn: '1h' });
      await request(demo.app).get('/api/me').set('Authorization', bearer(issued.token)).expect(200);
      assert.equal(await demo.tokens.revoke(issued.id), true);
      await request(demo.app).get('/api/me').set('Authorization', bearer(issued.token)).expect(401);
    });

    test('an expired token is refused', async () => {
      const issued = await demo.tokens.issue({ user: 'admin', expiresIn: '10m' });
      await request(demo.app).get('/api/me').set('Authorization', bearer(issued.token)).expect(200);
      demo.clock.now += 10 * 60_000 + 1;
      try {
        await request(demo.app).get('/api/me').set('Authorization', bearer(issued.token)).expect(401);
      } finally {
        demo.clock.now -= 10 * 60_000 + 1;
      }
    });
  });

  describe('GET /api/nodes?path=', () => {
    test('describes a folder and a file', async () => {
      const folder = await request(demo.app)
        .get('/api/nodes?path=/docs')
        .set('Authorization', bearer(admin))
        .expect(200);
      assert.deepEqual(folder.body, {
        uuid: demo.uuidOf('/docs'),
        path: '/docs',
        type: 'folder',
        size: null,
      });
      const file = await request(demo.app)
        .get('/api/nodes')
        .query({ path: '/docs/reports/q1.txt' })
        .set('Authorization', bearer(admin))
        .expect(200);
      assert.deepEqual(file.body, {
        uuid: demo.uuidOf('/docs/reports/q1.txt'),
        path: '/docs/reports/q1.txt',
        type: 'file',
        size: Buffer.byteLength(DEMO_FILES['/docs/reports/q1.txt']!),
      });
    });

    test('404 for nothing there, 400 for no path or a path with ..', async () => {
      const auth = bearer(admin);
      await request(demo.app).get('/api/nodes?path=/docs/none.txt').set('Authorization', auth).expect(404);
      await request(demo.app).get('/api/nodes').set('Authorization', auth).expect(400);
      await request(demo.app).get('/api/nodes?path=/docs/../private').set('Authorization', auth).expect(400);
    });

    test('a token scoped to /docs sees below /docs and nothing else, not even whether a path exists', async () => {
      const auth = bearer(await scoped(scope('/docs', 'r')));
      await request(demo.app).get('/api/nodes?path=/docs').set('Authorization', auth).expect(200);
      await request(demo.app)
        .get('/api/nodes?path=/docs/reports/q1.txt')
        .set('Authorization', auth)
        .expect(200);
      await request(demo.app).get('/api/nodes?path=/docs/missing').set('Authorization', auth).expect(404);
      await request(demo.app)
        .get('/api/nodes?path=/private/notes.txt')
        .set('Authorization', auth)
        .expect(403);
      await request(demo.app).get('/api/nodes?path=/private/missing').set('Authorization', auth).expect(403);
      await request(demo.app).get('/api/nodes?path=/').set('Authorization', auth).expect(403);
    });

    test('a write-only scope does not grant reading', async () => {
      const auth = bearer(await scoped(scope('/docs', 'w')));
      await request(demo.app).get('/api/nodes?path=/docs').set('Authorization', auth).expect(403);
    });
  });

  describe('GET /api/nodes/:uuid', () => {
    test("answers a file's content", async () => {
      const res = await request(demo.app)
        .get(`/api/nodes/${demo.uuidOf('/private/notes.txt')}`)
        .set('Authorization', bearer(admin))
        .buffer(true)
        .parse((response, callback) => {
          let text = '';
          response.on('data', (chunk: Buffer) => {
            text += chunk;
          });
          response.on('end', () => callback(null, text));
        })
        .expect(200);
      assert.equal(res.body, DEMO_FILES['/private/notes.txt']);
    });

    test("answers a folder's children", async () => {
      const res = await request(demo.app)
        .get(`/api/nodes/${demo.uuidOf('/docs')}`)
        .set('Authorization', bearer(admin))
        .expect(200);
      assert.equal(res.body.path, '/docs');
      assert.deepEqual(
        res.body.children.map((child: { uuid: string; path: string; type: string }) => [
          child.uuid,
          child.path,
          child.type,
        ]),
        [
          [demo.uuidOf('/docs/readme.txt'), '/docs/readme.txt', 'file'],
          [demo.uuidOf('/docs/reports'), '/docs/reports', 'folder'],
        ],
      );
    });

    test('unknown UUID: 404 for a full-access token, 403 for a scoped one (it reaches no such node)', async () => {
      const unknown = '00000000-0000-4000-8000-000000000000';
      await request(demo.app).get(`/api/nodes/${unknown}`).set('Authorization', bearer(admin)).expect(404);
      const auth = bearer(await scoped(scope('/docs', 'r')));
      const res = await request(demo.app).get(`/api/nodes/${unknown}`).set('Authorization', auth).expect(403);
      assert.deepEqual(res.body, { error: 'insufficient_scope' });
    });

    test('a folder scope reaches everything below it (resolveAncestors) and nothing else', async () => {
      const auth = bearer(await scoped(scope('/docs', 'r')));
      for (const path of ['/docs', '/docs/reports', '/docs/reports/q1.txt', '/docs/readme.txt']) {
        await request(demo.app)
          .get(`/api/nodes/${demo.uuidOf(path)}`)
          .set('Authorization', auth)
          .expect(200);
      }
      for (const path of ['/', '/private', '/private/notes.txt']) {
        const res = await request(demo.app)
          .get(`/api/nodes/${demo.uuidOf(path)}`)
          .set('Authorization', auth)
          .expect(403);
        assert.match(String(res.headers['www-authenticate']), /insufficient_scope/);
      }
    });

    test('a file scope reaches that file only, not its folder nor its siblings', async () => {
      const auth = bearer(await scoped(scope('/docs/readme.txt', 'r')));
      await request(demo.app)
        .get(`/api/nodes/${demo.uuidOf('/docs/readme.txt')}`)
        .set('Authorization', auth)
        .expect(200);
      await request(demo.app)
        .get(`/api/nodes/${demo.uuidOf('/docs')}`)
        .set('Authorization', auth)
        .expect(403);
      await request(demo.app)
        .get(`/api/nodes/${demo.uuidOf('/docs/reports')}`)
        .set('Authorization', auth)
        .expect(403);
    });

    test('several scopes add up', async () => {
      const auth = bearer(await scoped(scope('/docs/reports', 'r'), scope('/private', 'r')));
      await request(demo.app)
        .get(`/api/nodes/${demo.uuidOf('/docs/reports/q1.txt')}`)
        .set('Authorization', auth)
        .expect(200);
      await request(demo.app)
        .get(`/api/nodes/${demo.uuidOf('/private/notes.txt')}`)
        .set('Authorization', auth)
        .expect(200);
      await request(demo.app)
        .get(`/api/nodes/${demo.uuidOf('/docs/readme.txt')}`)
        .set('Authorization', auth)
        .expect(403);
    });
  });

  describe('PUT /api/nodes/:uuid', () => {
    test("replaces a file's content on disk and keeps its UUID", async () => {
      const uuid = demo.uuidOf('/docs/reports/q1.txt');
      const res = await request(demo.app)
        .put(`/api/nodes/${uuid}`)
        .set('Authorization', bearer(admin))
        .set('Content-Type', 'text/plain')
        .send('Q1, revised\n')
        .expect(200);
      assert.deepEqual(res.body, { uuid, path: '/docs/reports/q1.txt', type: 'file', size: 12 });
      assert.equal(readFileSync(demo.nodes.realPath('/docs/reports/q1.txt'), 'utf8'), 'Q1, revised\n');
    });

    test('needs w: a read-only token gets 403 and the file is unchanged', async () => {
      const before = readFileSync(demo.nodes.realPath('/docs/readme.txt'), 'utf8');
      const auth = bearer(await scoped(scope('/', 'r')));
      await request(demo.app)
        .put(`/api/nodes/${demo.uuidOf('/docs/readme.txt')}`)
        .set('Authorization', auth)
        .send('overwritten')
        .expect(403);
      assert.equal(readFileSync(demo.nodes.realPath('/docs/readme.txt'), 'utf8'), before);
    });

    test('a w scope on /docs writes below /docs (write-only: no read needed), not in /private', async () => {
      const auth = bearer(await scoped(scope('/docs', 'w')));
      await request(demo.app)
        .put(`/api/nodes/${demo.uuidOf('/docs/readme.txt')}`)
        .set('Authorization', auth)
        .send('upload-only token was here\n')
        .expect(200);
      await request(demo.app)
        .put(`/api/nodes/${demo.uuidOf('/private/notes.txt')}`)
        .set('Authorization', auth)
        .send('nope')
        .expect(403);
    });

    test('a folder cannot be overwritten (409), an unknown UUID is 404', async () => {
      await request(demo.app)
        .put(`/api/nodes/${demo.uuidOf('/docs')}`)
        .set('Authorization', bearer(admin))
        .send('x')
        .expect(409);
      await request(demo.app)
        .put('/api/nodes/00000000-0000-4000-8000-000000000000')
        .set('Authorization', bearer(admin))
        .send('x')
        .expect(404);
    });
  });
});
