import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { createDavHandler } from '../example-app/dav';
import { davAccessChecks, davDestinationPath, destructiveDavRequest } from '../example-app/dav-access';
import { type InProcessApp, startInProcess } from './support/example-app';

const LOCK_BODY =
  '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>' +
  '<D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>';
const PROPPATCH_BODY =
  '<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example">' +
  '<D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>';

function hrefs(xml: string): string[] {
  return [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((match) => decodeURIComponent(match[1]!)).sort();
}

describe('example-app WebDAV access rules (pure)', () => {
  test('reads need r on the target, writes w, OPTIONS nothing; an unknown method counts as a write', () => {
    for (const method of ['GET', 'HEAD', 'PROPFIND', 'propfind']) {
      assert.deepEqual(davAccessChecks(method, '/a/b', null), [{ path: '/a/b', permission: 'r' }], method);
    }
    for (const method of ['PUT', 'MKCOL', 'DELETE', 'PROPPATCH', 'LOCK', 'UNLOCK', 'POST', 'BREW']) {
      assert.deepEqual(davAccessChecks(method, '/a/b', null), [{ path: '/a/b', permission: 'w' }], method);
    }
    assert.deepEqual(davAccessChecks('OPTIONS', '/a', null), []);
  });

  test("COPY reads its source, MOVE takes it away; both write into the destination's parent", () => {
    assert.deepEqual(davAccessChecks('COPY', '/a/x', '/b/y'), [
      { path: '/a/x', permission: 'r' },
      { path: '/b', permission: 'w' },
    ]);
    assert.deepEqual(davAccessChecks('MOVE', '/a/x', '/y'), [
      { path: '/a/x', permission: 'w' },
      { path: '/', permission: 'w' },
    ]);
  });

  test('destructive requests: DELETE of the root, MOVE/COPY onto the source itself or a folder above it', () => {
    assert.equal(destructiveDavRequest('DELETE', '/', null), 'root_is_protected');
    assert.equal(destructiveDavRequest('DELETE', '/a', null), null);
    assert.equal(destructiveDavRequest('MOVE', '/a/b', '/'), 'destination_contains_source');
    assert.equal(destructiveDavRequest('COPY', '/a/b', '/a'), 'destination_contains_source');
    assert.equal(destructiveDavRequest('MOVE', '/a/b', '/a/b'), 'destination_contains_source');
    assert.equal(destructiveDavRequest('MOVE', '/a/b', '/a/bc'), null);
    assert.equal(destructiveDavRequest('COPY', '/a', '/b/a'), null);
  });

  test('Destination headers are resolved as webdav-server does, and foreign ones are refused', () => {
    assert.deepEqual(davDestinationPath('http://h:1/dav/a/b%20c', 'h:1', '/dav'), { path: '/a/b c' });
    assert.deepEqual(davDestinationPath('/dav/a/../b', 'h:1', '/dav'), { path: '/b' });
    assert.deepEqual(davDestinationPath('/dav/a%2F..%2F..%2Fb', 'h:1', '/dav'), { error: 'invalid' });
    assert.deepEqual(davDestinationPath('/dav/%E0%A4%A', 'h:1', '/dav'), { error: 'invalid' });
    assert.deepEqual(davDestinationPath('http://h/elsewhere/a', 'h', '/dav'), { error: 'foreign' });
    assert.deepEqual(davDestinationPath('/davx/a', 'h', '/dav'), { error: 'foreign' });
    assert.deepEqual(davDestinationPath('http://h', 'h', '/dav'), { error: 'invalid' });
    assert.deepEqual(davDestinationPath(undefined, 'h', '/dav'), { error: 'missing' });
    // Another host, or a path a server could read as another one: refused, never reinterpreted.
    assert.deepEqual(davDestinationPath('http://h:2/dav/a', 'h:1', '/dav'), { error: 'foreign' });
    for (const header of [
      '/dav/a?://h:1/dav/b',
      '/dav/a#://h:1/dav/b',
      '//h:1/dav/a',
      'http://u@h:1/dav/a',
    ]) {
      assert.deepEqual(davDestinationPath(header, 'h:1', '/dav'), { error: 'invalid' }, header);
    }
  });
});

describe('example-app WebDAV (webdav-server behind personalTokenAuth)', () => {
  let demo: InProcessApp;
  let admin: string;
  const token = async (...scopes: string[]) =>
    demo.basic('admin', (await demo.tokens.issue({ user: 'admin', expiresIn: '1h', scopes })).token);
  const scope = (path: string, permission: string) => `node:${demo.uuidOf(path)}:${permission}`;
  const dav = () => request(demo.app);

  before(async () => {
    demo = startInProcess();
    admin = demo.basic('admin', (await demo.tokens.issue({ user: 'admin', expiresIn: '1h' })).token);
  });
  after(() => demo.close());

  describe('authentication', () => {
    test('no credentials: 401 with a Basic challenge only (what WebDAV clients answer)', async () => {
      const res = await dav().propfind('/dav/').expect(401);
      const challenge = String(res.headers['www-authenticate']);
      assert.match(challenge, /^Basic realm="personal-token-auth example \(WebDAV\)", charset="UTF-8"$/);
    });

    test('a Bearer token is not accepted on /dav (Basic only there)', async () => {
      const issued = await demo.tokens.issue({ user: 'admin', expiresIn: '1h' });
      await dav().propfind('/dav/').set('Authorization', `Bearer ${issued.token}`).expect(401);
    });

    test("another login with the token, or a disabled user's token: 401", async () => {
      const issued = await demo.tokens.issue({ user: 'admin', expiresIn: '1h' });
      await dav().propfind('/dav/').set('Authorization', demo.basic('alice', issued.token)).expect(401);
      const carol = await demo.tokensIgnoringUsers.issue({ user: 'carol', expiresIn: '1h' });
      await dav().propfind('/dav/').set('Authorization', demo.basic('carol', carol.token)).expect(401);
    });

    test('webdav-server itself refuses a request that no token authenticated (defense in depth)', async () => {
      // The DAV handler alone, as if someone forgot personalTokenAuth in front of it.
      const bare = express().use(createDavHandler({ nodes: demo.nodes, mountPath: '/dav' }));
      await request(bare).propfind('/dav/').set('Depth', '1').expect(401);
      await request(bare).get('/dav/private/notes.txt').expect(401);
      await request(bare).put('/dav/private/dropped.txt').send('x').expect(401);
      assert.ok(!existsSync(demo.nodes.realPath('/private/dropped.txt')));
    });

    test('a full-access token lists the whole tree', async () => {
      const res = await dav().propfind('/dav/').set('Authorization', admin).set('Depth', '1').expect(207);
      assert.deepEqual(hrefs(res.text), ['/dav/', '/dav/docs/', '/dav/private/']);
    });
  });

  describe('scopes, per request', () => {
    test('a read-only token reads everything and can change nothing', async () => {
      const auth = await token(scope('/', 'r'));
      await dav().propfind('/dav/docs/').set('Authorization', auth).set('Depth', '1').expect(207);
      const got = await dav().get('/dav/docs/readme.txt').set('Authorization', auth).expect(200);
      assert.match(got.text, /Welcome/);
      await dav().head('/dav/docs/readme.txt').set('Authorization', auth).expect(200);
      await dav().options('/dav/docs/').set('Authorization', auth).expect(200);

      const xml = 'application/xml';
      const refused: [string, () => request.Test][] = [
        ['PUT new', () => dav().put('/dav/docs/new.txt').send('x')],
        ['PUT existing', () => dav().put('/dav/docs/readme.txt').send('x')],
        ['MKCOL', () => dav().mkcol('/dav/docs/newdir')],
        ['DELETE', () => dav().delete('/dav/docs/readme.txt')],
        [
          'PROPPATCH',
          () => dav().proppatch('/dav/docs/readme.txt').set('Content-Type', xml).send(PROPPATCH_BODY),
        ],
        ['LOCK', () => dav().lock('/dav/docs/readme.txt').set('Content-Type', xml).send(LOCK_BODY)],
        ['UNLOCK', () => dav().unlock('/dav/docs/readme.txt').set('Lock-Token', '<urn:uuid:0-0-0-0-0>')],
        ['MOVE', () => dav().move('/dav/docs/readme.txt').set('Destination', '/dav/docs/moved.txt')],
        ['COPY', () => dav().copy('/dav/docs/readme.txt').set('Destination', '/dav/docs/copied.txt')],
      ];
      for (const [label, send] of refused) {
        const res = await send().set('Authorization', auth);
        assert.equal(res.status, 403, label);
        assert.deepEqual(JSON.parse(res.text), { error: 'insufficient_scope' }, label);
      }
      assert.ok(existsSync(demo.nodes.realPath('/docs/readme.txt')));
      assert.ok(!existsSync(demo.nodes.realPath('/docs/new.txt')));
      assert.ok(!existsSync(demo.nodes.realPath('/docs/newdir')));
    });

    test('a token scoped to /docs sees /docs only: not /private, not the root listing', async () => {
      const auth = await token(scope('/docs', 'rw'));
      const docs = await dav()
        .propfind('/dav/docs/')
        .set('Authorization', auth)
        .set('Depth', '1')
        .expect(207);
      assert.deepEqual(hrefs(docs.text), ['/dav/docs/', '/dav/docs/readme.txt', '/dav/docs/reports/']);
      const reports = await dav()
        .propfind('/dav/docs/reports/')
        .set('Authorization', auth)
        .set('Depth', '1')
        .expect(207);
      assert.deepEqual(hrefs(reports.text), ['/dav/docs/reports/', '/dav/docs/reports/q1.txt']);
      await dav().propfind('/dav/').set('Authorization', auth).set('Depth', '1').expect(403);
      await dav().propfind('/dav/private/').set('Authorization', auth).expect(403);
      await dav().get('/dav/private/notes.txt').set('Authorization', auth).expect(403);
      // Nor does it learn what does not exist there.
      await dav().get('/dav/private/nothing.txt').set('Authorization', auth).expect(403);
      await dav().get('/dav/docs/nothing.txt').set('Authorization', auth).expect(404);
    });

    test('.. and encoded slashes are resolved before the check, as webdav-server resolves them', async () => {
      const auth = await token(scope('/docs', 'rw'));
      for (const path of [
        '/dav/docs/../private/notes.txt',
        '/dav/docs/%2e%2e/private/notes.txt',
        '/dav/docs/..%2Fprivate/notes.txt',
      ]) {
        const res = await dav().get(path).set('Authorization', auth);
        assert.equal(res.status, 403, path);
      }
      await dav()
        .move('/dav/docs/readme.txt')
        .set('Destination', '/dav/docs/../private/readme.txt')
        .set('Authorization', auth)
        .expect(403);
    });

    test("MOVE and COPY need the source and the destination's parent", async () => {
      const auth = await token(scope('/docs', 'rw'));
      // Out of /docs: the destination's parent is /private.
      await dav()
        .move('/dav/docs/readme.txt')
        .set('Destination', '/dav/private/readme.txt')
        .set('Authorization', auth)
        .expect(403);
      await dav()
        .copy('/dav/docs/readme.txt')
        .set('Destination', '/dav/private/readme.txt')
        .set('Authorization', auth)
        .expect(403);
      // Into /docs from /private: the source is out of scope.
      await dav()
        .copy('/dav/private/notes.txt')
        .set('Destination', '/dav/docs/notes.txt')
        .set('Authorization', auth)
        .expect(403);
      await dav()
        .move('/dav/private/notes.txt')
        .set('Destination', '/dav/docs/notes.txt')
        .set('Authorization', auth)
        .expect(403);
      assert.ok(existsSync(demo.nodes.realPath('/private/notes.txt')));
      assert.ok(!existsSync(demo.nodes.realPath('/docs/notes.txt')));
      assert.ok(!existsSync(demo.nodes.realPath('/private/readme.txt')));
      // A destination on another server, or another path of this one, is refused outright (a 4xx: the
      // request is at fault, not the server).
      await dav()
        .copy('/dav/docs/readme.txt')
        .set('Destination', 'http://elsewhere.example/x')
        .set('Authorization', admin)
        .expect(400);
      await dav()
        .copy('/dav/docs/readme.txt')
        .set('Destination', '/api/x')
        .set('Authorization', admin)
        .expect(400);
    });

    test('a write-only token uploads into its folder but cannot read or list it', async () => {
      const auth = await token(scope('/docs/reports', 'w'));
      await dav().put('/dav/docs/reports/q2.txt').set('Authorization', auth).send('Q2\n').expect(201);
      assert.equal(readFileSync(demo.nodes.realPath('/docs/reports/q2.txt'), 'utf8'), 'Q2\n');
      await dav().get('/dav/docs/reports/q2.txt').set('Authorization', auth).expect(403);
      await dav().propfind('/dav/docs/reports/').set('Authorization', auth).expect(403);
      await dav().put('/dav/docs/q2.txt').set('Authorization', auth).send('Q2\n').expect(403);
    });
  });

  describe('node UUIDs through WebDAV', () => {
    test('MOVE (rename, or into another folder) keeps the UUIDs of the node and of what is below it', async () => {
      await dav().mkcol('/dav/docs/projects').set('Authorization', admin).expect(201);
      await dav().put('/dav/docs/projects/plan.txt').set('Authorization', admin).send('plan').expect(201);
      const folder = demo.uuidOf('/docs/projects');
      const file = demo.uuidOf('/docs/projects/plan.txt');
      await dav()
        .move('/dav/docs/projects')
        .set('Destination', '/dav/private/projects-2030')
        .set('Authorization', admin)
        .expect(201);
      assert.equal(demo.uuidOf('/private/projects-2030'), folder);
      assert.equal(demo.uuidOf('/private/projects-2030/plan.txt'), file);
      assert.equal(demo.nodes.nodeAt('/docs/projects'), null);
      // The REST API finds the moved file by its UUID.
      const res = await request(demo.app).get(`/api/nodes/${file}`).set('Authorization', admin).expect(200);
      assert.equal(res.text, 'plan');
    });

    test('a scope follows its node when the node moves', async () => {
      await dav().put('/dav/docs/scoped.txt').set('Authorization', admin).send('mine').expect(201);
      const auth = await token(scope('/docs/scoped.txt', 'r'));
      await dav()
        .move('/dav/docs/scoped.txt')
        .set('Destination', '/dav/private/scoped.txt')
        .set('Authorization', admin)
        .expect(201);
      await dav().get('/dav/private/scoped.txt').set('Authorization', auth).expect(200);
      await dav().get('/dav/private/notes.txt').set('Authorization', auth).expect(403);
    });

    test('COPY makes new nodes; DELETE then re-create at the same path gives a new UUID', async () => {
      const original = demo.uuidOf('/docs/readme.txt');
      await dav()
        .copy('/dav/docs/readme.txt')
        .set('Destination', '/dav/docs/readme-copy.txt')
        .set('Authorization', admin)
        .expect(201);
      assert.notEqual(demo.uuidOf('/docs/readme-copy.txt'), original);
      assert.equal(demo.uuidOf('/docs/readme.txt'), original);

      const auth = await token(scope('/docs/readme-copy.txt', 'rw'));
      const copy = demo.uuidOf('/docs/readme-copy.txt');
      await dav().delete('/dav/docs/readme-copy.txt').set('Authorization', admin).expect(200);
      assert.equal(demo.nodes.nodeById(copy), null);
      await dav()
        .put('/dav/docs/readme-copy.txt')
        .set('Authorization', admin)
        .send('someone else')
        .expect(201);
      assert.notEqual(demo.uuidOf('/docs/readme-copy.txt'), copy);
      // The old scope named the deleted node: it reaches nothing at the same path now.
      await dav().get('/dav/docs/readme-copy.txt').set('Authorization', auth).expect(403);
    });

    test('no request may destroy the root, or the source through its own parent folder', async () => {
      const refused: [string, string, () => request.Test][] = [
        ['DELETE /', 'root_is_protected', () => dav().delete('/dav/')],
        [
          'MOVE onto /',
          'destination_contains_source',
          () => dav().move('/dav/docs/reports').set('Destination', '/dav/').set('Overwrite', 'T'),
        ],
        [
          'COPY onto /',
          'destination_contains_source',
          () => dav().copy('/dav/docs/readme.txt').set('Destination', '/dav').set('Overwrite', 'T'),
        ],
        [
          'MOVE onto its parent',
          'destination_contains_source',
          () => dav().move('/dav/docs/reports').set('Destination', '/dav/docs').set('Overwrite', 'T'),
        ],
      ];
      for (const [label, error, send] of refused) {
        const res = await send().set('Authorization', admin);
        assert.equal(res.status, 403, label);
        assert.deepEqual(JSON.parse(res.text), { error }, label);
      }
      assert.ok(existsSync(demo.nodes.realPath('/docs/reports/q1.txt')));
      assert.ok(existsSync(demo.nodes.realPath('/private/notes.txt')));
    });

    test('COPY with Overwrite: F onto an existing file is refused (412), not silently done', async () => {
      await dav()
        .copy('/dav/docs/readme.txt')
        .set('Destination', '/dav/docs/reports/q1.txt')
        .set('Overwrite', 'F')
        .set('Authorization', admin)
        .expect(412);
    });
  });

  describe('webdav-server crash workarounds (each request below used to kill the process)', () => {
    test('PROPPATCH with several set/remove blocks answers once', async () => {
      const body =
        '<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example">' +
        '<D:set><D:prop><Z:a>1</Z:a></D:prop></D:set><D:remove><D:prop><Z:b/></D:prop></D:remove>' +
        '<D:set><D:prop><Z:c>3</Z:c></D:prop></D:set></D:propertyupdate>';
      await dav()
        .proppatch('/dav/docs/readme.txt')
        .set('Content-Type', 'application/xml')
        .set('Authorization', admin)
        .send(body)
        .expect(207);
      await dav().propfind('/dav/docs/readme.txt').set('Authorization', admin).expect(207);
    });

    test('an untagged If header (If: (<token>) ...) on PUT', async () => {
      const res = await dav()
        .put('/dav/docs/readme.txt')
        .set('If', '(<urn:uuid:00000000-0000-4000-8000-000000000000>) (Not <DAV:no-lock>)')
        .set('Authorization', admin)
        .send('x');
      assert.ok([200, 201, 204, 412].includes(res.status), String(res.status));
      await dav().propfind('/dav/docs/readme.txt').set('Authorization', admin).expect(207);
    });

    test('MKCOL with an If header', async () => {
      const res = await dav()
        .mkcol('/dav/docs/with-if')
        .set('If', '(<urn:uuid:00000000-0000-4000-8000-000000000000>)')
        .set('Authorization', admin);
      assert.ok([201, 412].includes(res.status), String(res.status));
      await dav().propfind('/dav/docs/').set('Authorization', admin).expect(207);
    });
  });
});
