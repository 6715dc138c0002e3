// HTTP preconditions on the WebDAV share (RFC 9110 13): GET and HEAD send the ETag PROPFIND reports, a save
// with a stale If-Match is 412 and changes nothing (no client's save silently replaces another's), and the
// entity tag changes with every write, even two of the same size within one tick of the disk's clock. The
// preconditions are checked after the scopes, so a 403 tells a token nothing of a node's tag or existence.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { type CurrentRepresentation, preconditionOutcome } from '../example-app/dav-preconditions';
import { DistinctModificationTimes, entityTagOf } from '../example-app/distinct-modification-times';
import { type InProcessApp, startInProcess } from './support/example-app';

const XML = '<?xml version="1.0" encoding="utf-8"?>';
const PROPPATCH_BODY =
  `${XML}<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example">` +
  '<D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>';
const LOCK_BODY =
  `${XML}<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>` +
  '<D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>';
// Another tag of the same form, as a client that read an earlier version holds.
const STALE = '"00000000000000000000000000000000"';

describe('example-app WebDAV preconditions (pure)', () => {
  const file: CurrentRepresentation = {
    etag: '"a"',
    lastModified: Date.parse('2030-01-01T00:00:00.500Z'),
    isFolder: false,
  };
  const folder = { ...file, isFolder: true };

  test('If-Match: `*` or a strong match of a list holds; a weak tag, another tag or nothing there is 412', () => {
    assert.equal(preconditionOutcome('PUT', { ifMatch: '*' }, file), null);
    assert.equal(preconditionOutcome('PUT', { ifMatch: '"b", "a"' }, file), null);
    assert.equal(preconditionOutcome('PUT', { ifMatch: 'W/"a"' }, file), 412);
    assert.equal(preconditionOutcome('PUT', { ifMatch: '"b"' }, file), 412);
    assert.equal(preconditionOutcome('PUT', { ifMatch: 'a' }, file), 412, 'malformed: matches nothing');
    assert.equal(preconditionOutcome('PUT', { ifMatch: '*' }, null), 412);
    assert.equal(preconditionOutcome('HEAD', { ifMatch: '"b"' }, file), 412);
  });

  test('If-None-Match: `*` holds only where nothing is; a weak match fails too, with 304 for GET and HEAD', () => {
    assert.equal(preconditionOutcome('PUT', { ifNoneMatch: '*' }, null), null);
    assert.equal(preconditionOutcome('PUT', { ifNoneMatch: '*' }, file), 412);
    assert.equal(preconditionOutcome('GET', { ifNoneMatch: 'W/"a"' }, file), 304);
    assert.equal(preconditionOutcome('HEAD', { ifNoneMatch: '"b", "a"' }, file), 304);
    assert.equal(preconditionOutcome('GET', { ifNoneMatch: '"b"' }, file), null);
    assert.equal(preconditionOutcome('DELETE', { ifNoneMatch: '"a"' }, file), 412);
  });

  test('dates: compared in whole seconds, ignored when not HTTP-dates or when an entity tag is asked about', () => {
    const second = 'Tue, 01 Jan 2030 00:00:00 GMT';
    const before = 'Mon, 31 Dec 2029 23:59:59 GMT';
    assert.equal(preconditionOutcome('PUT', { ifUnmodifiedSince: second }, file), null);
    assert.equal(preconditionOutcome('PUT', { ifUnmodifiedSince: before }, file), 412);
    assert.equal(preconditionOutcome('PUT', { ifUnmodifiedSince: 'yesterday' }, file), null);
    assert.equal(preconditionOutcome('PUT', { ifMatch: '"a"', ifUnmodifiedSince: before }, file), null);
    assert.equal(preconditionOutcome('GET', { ifModifiedSince: second }, file), 304);
    assert.equal(preconditionOutcome('GET', { ifModifiedSince: before }, file), null);
    assert.equal(preconditionOutcome('GET', { ifNoneMatch: '"b"', ifModifiedSince: second }, file), null);
    assert.equal(preconditionOutcome('PUT', { ifModifiedSince: second }, file), null, 'for reads only');
  });

  test('what would be 404 or 405 anyway stays so: conditions on a missing node, a read of a folder, MKCOL', () => {
    for (const method of ['GET', 'HEAD', 'DELETE', 'MOVE', 'COPY', 'PROPPATCH', 'PROPFIND']) {
      assert.equal(preconditionOutcome(method, { ifMatch: '"a"' }, null), null, method);
    }
    for (const method of ['PUT', 'MKCOL', 'LOCK']) {
      assert.equal(preconditionOutcome(method, { ifMatch: '"a"' }, null), 412, `${method} creates`);
    }
    assert.equal(preconditionOutcome('GET', { ifNoneMatch: '*' }, folder), null);
    assert.equal(preconditionOutcome('MKCOL', { ifNoneMatch: '*' }, folder), null);
    assert.equal(preconditionOutcome('DELETE', { ifMatch: '"b"' }, folder), 412);
  });
});

describe('example-app WebDAV: distinct entity tags', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pat-etag-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // One tick of the disk's clock, as a whole second (which utimes sets exactly).
  const tick = new Date('2030-01-01T00:00:00Z');

  test('two writes of the same size within one tick of the disk clock still get different tags', () => {
    const times = new DistinctModificationTimes();
    const path = join(dir, 'same-tick.txt');
    const tagOf = () => entityTagOf(statSync(path, { bigint: true }));
    writeFileSync(path, 'first');
    utimesSync(path, tick, tick);
    times.afterWrite(path);
    const firstTag = tagOf();

    times.beforeWrite(path);
    writeFileSync(path, 'other');
    utimesSync(path, tick, tick);
    assert.equal(tagOf(), firstTag, 'the same size and time would be the same tag');
    times.afterWrite(path);
    assert.notEqual(tagOf(), firstTag);
    assert.ok(statSync(path).mtimeMs > tick.getTime());
  });

  test('a file written before the app started counts too (its time is read before the write)', () => {
    const path = join(dir, 'older.txt');
    writeFileSync(path, 'first');
    utimesSync(path, tick, tick);
    const firstTag = entityTagOf(statSync(path, { bigint: true }));
    const times = new DistinctModificationTimes();
    times.beforeWrite(path);
    writeFileSync(path, 'other');
    utimesSync(path, tick, tick);
    times.afterWrite(path);
    assert.notEqual(entityTagOf(statSync(path, { bigint: true })), firstTag);
  });

  test('a file gone before its write is checked is left alone (no exception in a stream callback)', () => {
    const times = new DistinctModificationTimes();
    const path = join(dir, 'gone.txt');
    times.beforeWrite(path);
    times.afterWrite(path);
    assert.equal(existsSync(path), false);
  });
});

describe('example-app WebDAV preconditions (If-Match, If-None-Match, ETag)', () => {
  let demo: InProcessApp;
  let admin: string;
  const token = async (...scopes: string[]) =>
    demo.basic('admin', (await demo.tokens.issue({ user: 'admin', expiresIn: '1h', scopes })).token);
  const scope = (path: string, permission: string) => `node:${demo.uuidOf(path)}:${permission}`;
  const dav = () => request(demo.app);
  const content = (path: string) => readFileSync(demo.nodes.realPath(path), 'utf8');
  const put = (path: string, body: string, headers: Record<string, string> = {}) =>
    dav().put(`/dav${path}`).set('Authorization', admin).set(headers).send(body);
  const headTag = async (path: string) => {
    const res = await dav().head(`/dav${path}`).set('Authorization', admin).expect(200);
    return String(res.headers.etag);
  };

  before(async () => {
    demo = startInProcess();
    admin = demo.basic('admin', (await demo.tokens.issue({ user: 'admin', expiresIn: '1h' })).token);
  });
  after(() => demo.close());

  test("GET and HEAD send a strong ETag, PROPFIND's getetag, and Last-Modified, getlastmodified", async () => {
    const got = await dav().get('/dav/docs/readme.txt').set('Authorization', admin).expect(200);
    assert.match(String(got.headers.etag), /^"[0-9a-f]{32}"$/);
    const head = await dav().head('/dav/docs/readme.txt').set('Authorization', admin).expect(200);
    assert.equal(head.headers.etag, got.headers.etag);
    const found = await dav()
      .propfind('/dav/docs/readme.txt')
      .set('Authorization', admin)
      .set('Depth', '0')
      .set('Content-Type', 'application/xml')
      .send(`${XML}<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getlastmodified/></D:prop></D:propfind>`)
      .expect(207);
    assert.match(
      found.text,
      new RegExp(`<D:getetag>${String(got.headers.etag).replaceAll('"', '&quot;')}</D:getetag>`),
    );
    assert.match(
      found.text,
      new RegExp(`<D:getlastmodified>${got.headers['last-modified']}</D:getlastmodified>`),
    );
  });

  test('a save with a stale If-Match is 412 and changes nothing; with the current tag it is saved', async () => {
    await put('/docs/shared.txt', 'version 1').expect(201);
    const read = await headTag('/docs/shared.txt');
    await put('/docs/shared.txt', 'version 2').expect(200); // another client saves meanwhile
    const refused = await put('/docs/shared.txt', 'lost update', { 'If-Match': read }).expect(412);
    assert.deepEqual(JSON.parse(refused.text), { error: 'precondition_failed' });
    assert.equal(content('/docs/shared.txt'), 'version 2');

    const current = await headTag('/docs/shared.txt');
    await put('/docs/shared.txt', 'version 3', { 'If-Match': current }).expect(200);
    assert.equal(content('/docs/shared.txt'), 'version 3');
    assert.notEqual(await headTag('/docs/shared.txt'), current);
    await put('/docs/shared.txt', 'version 4', { 'If-Match': '*' }).expect(200);
    await put('/docs/nothing.txt', 'x', { 'If-Match': '*' }).expect(412);
    assert.equal(existsSync(demo.nodes.realPath('/docs/nothing.txt')), false);
  });

  test('HEAD and GET with a stale If-Match are 412 (what gvfs checks before it saves)', async () => {
    await put('/docs/checked.txt', 'x').expect(201);
    await dav().head('/dav/docs/checked.txt').set('Authorization', admin).set('If-Match', STALE).expect(412);
    await dav().get('/dav/docs/checked.txt').set('Authorization', admin).set('If-Match', STALE).expect(412);
    const tag = await headTag('/docs/checked.txt');
    await dav().get('/dav/docs/checked.txt').set('Authorization', admin).set('If-Match', tag).expect(200);
  });

  test('If-None-Match: * creates only: 412 over an existing file, 201 for a new one', async () => {
    await put('/docs/create-only.txt', 'first', { 'If-None-Match': '*' }).expect(201);
    await put('/docs/create-only.txt', 'second', { 'If-None-Match': '*' }).expect(412);
    assert.equal(content('/docs/create-only.txt'), 'first');
  });

  test('GET and HEAD with a matching If-None-Match (or an If-Modified-Since not before it) are 304', async () => {
    const tag = await headTag('/docs/readme.txt');
    const got = await dav()
      .get('/dav/docs/readme.txt')
      .set('Authorization', admin)
      .set('If-None-Match', `"other", ${tag}`)
      .expect(304);
    assert.equal(got.headers.etag, tag);
    assert.equal(got.text, '');
    await dav()
      .head('/dav/docs/readme.txt')
      .set('Authorization', admin)
      .set('If-None-Match', tag)
      .expect(304);
    const fresh = await dav()
      .get('/dav/docs/readme.txt')
      .set('Authorization', admin)
      .set('If-None-Match', STALE)
      .expect(200);
    assert.match(fresh.text, /Welcome/);
    const modified = String(fresh.headers['last-modified']);
    await dav()
      .get('/dav/docs/readme.txt')
      .set('Authorization', admin)
      .set('If-Modified-Since', modified)
      .expect(304);
  });

  test('the ETag changes with every save, however quick and whatever the size stays', async () => {
    await put('/docs/often.txt', 'save 00').expect(201);
    const tags = new Set([await headTag('/docs/often.txt')]);
    for (let save = 1; save <= 20; save++) {
      await put('/docs/often.txt', `save ${String(save).padStart(2, '0')}`).expect(200);
      tags.add(await headTag('/docs/often.txt'));
    }
    assert.equal(tags.size, 21);
  });

  test('two saves sent at once with the same If-Match: one is saved, the other is 412', async () => {
    await put('/docs/race.txt', 'base').expect(201);
    const tag = await headTag('/docs/race.txt');
    const [a, b] = await Promise.all([
      put('/docs/race.txt', 'from a', { 'If-Match': tag }),
      put('/docs/race.txt', 'from b', { 'If-Match': tag }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 412]);
    assert.equal(content('/docs/race.txt'), a.status === 200 ? 'from a' : 'from b');
  });

  test('DELETE, MOVE, COPY, PROPPATCH, LOCK and MKCOL are 412 with a stale If-Match and change nothing', async () => {
    await put('/docs/guarded.txt', 'guarded').expect(201);
    const stale = { Authorization: admin, 'If-Match': STALE };
    const xml = 'application/xml';
    await dav().delete('/dav/docs/guarded.txt').set(stale).expect(412);
    await dav()
      .move('/dav/docs/guarded.txt')
      .set(stale)
      .set('Destination', '/dav/docs/moved.txt')
      .expect(412);
    await dav()
      .copy('/dav/docs/guarded.txt')
      .set(stale)
      .set('Destination', '/dav/docs/copied.txt')
      .expect(412);
    await dav()
      .proppatch('/dav/docs/guarded.txt')
      .set(stale)
      .set('Content-Type', xml)
      .send(PROPPATCH_BODY)
      .expect(412);
    await dav().lock('/dav/docs/guarded.txt').set(stale).set('Content-Type', xml).send(LOCK_BODY).expect(412);
    await dav().mkcol('/dav/docs/new-folder').set(stale).expect(412);
    assert.equal(content('/docs/guarded.txt'), 'guarded');
    for (const path of ['/docs/moved.txt', '/docs/copied.txt', '/docs/new-folder']) {
      assert.equal(existsSync(demo.nodes.realPath(path)), false, path);
    }
    const props = await dav()
      .propfind('/dav/docs/guarded.txt')
      .set('Authorization', admin)
      .set('Depth', '0')
      .expect(207);
    assert.doesNotMatch(props.text, /colour/);
    assert.doesNotMatch(props.text, /activelock/);

    // With the current tag, each goes through.
    const current = async (path: string) => ({ Authorization: admin, 'If-Match': await headTag(path) });
    await dav()
      .copy('/dav/docs/guarded.txt')
      .set(await current('/docs/guarded.txt'))
      .set('Destination', '/dav/docs/copied.txt')
      .expect(201);
    await dav()
      .move('/dav/docs/copied.txt')
      .set(await current('/docs/copied.txt'))
      .set('Destination', '/dav/docs/moved.txt')
      .expect(201);
    await dav()
      .delete('/dav/docs/moved.txt')
      .set(await current('/docs/moved.txt'))
      .expect(200);
    assert.equal(existsSync(demo.nodes.realPath('/docs/moved.txt')), false);
    await dav().mkcol('/dav/docs/new-folder').set({ Authorization: admin, 'If-None-Match': '*' }).expect(201);
  });

  test('an If-Unmodified-Since before the last save is 412; GET sends the date to send back', async () => {
    await put('/docs/dated.txt', 'dated').expect(201);
    const modified = (await dav().head('/dav/docs/dated.txt').set('Authorization', admin).expect(200))
      .headers['last-modified'];
    const earlier = new Date(Date.parse(String(modified)) - 1000).toUTCString();
    await put('/docs/dated.txt', 'refused', { 'If-Unmodified-Since': earlier }).expect(412);
    assert.equal(content('/docs/dated.txt'), 'dated');
    await put('/docs/dated.txt', 'saved', { 'If-Unmodified-Since': String(modified) }).expect(200);
  });

  test('a read-only token gets 403 whatever the preconditions, never 412', async () => {
    const auth = await token(scope('/', 'r'));
    const tag = await headTag('/docs/readme.txt');
    for (const headers of [{ 'If-Match': STALE }, { 'If-Match': tag }, { 'If-None-Match': '*' }, {}]) {
      for (const path of ['/dav/docs/readme.txt', '/dav/docs/absent.txt']) {
        const res = await dav().put(path).set('Authorization', auth).set(headers).send('x');
        assert.equal(res.status, 403, `${path} ${JSON.stringify(headers)}`);
        assert.deepEqual(JSON.parse(res.text), { error: 'insufficient_scope' });
      }
    }
    assert.match(content('/docs/readme.txt'), /Welcome/);
  });

  test('a token without access to a path learns nothing of it from preconditions: same answers, there or not', async () => {
    const auth = await token(scope('/docs', 'rw'));
    const tag = await headTag('/private/notes.txt');
    const answer = async (method: string, path: string, headers: Record<string, string>) => {
      const res = await dav()
        [method as 'get'](path)
        .set('Authorization', auth)
        .set(headers)
        .send(method === 'put' ? 'x' : '');
      return { status: res.status, etag: res.headers.etag, body: res.text };
    };
    const conditions: Record<string, string>[] = [
      { 'If-Match': tag },
      { 'If-Match': STALE },
      { 'If-None-Match': tag },
      { 'If-None-Match': '*' },
      { 'If-Modified-Since': 'Tue, 01 Jan 2999 00:00:00 GMT' },
    ];
    for (const method of ['get', 'head', 'put', 'delete', 'propfind']) {
      for (const headers of conditions) {
        const there = await answer(method, '/dav/private/notes.txt', headers);
        const absent = await answer(method, '/dav/private/absent.txt', headers);
        assert.equal(there.status, 403, `${method} ${JSON.stringify(headers)}`);
        assert.deepEqual(absent, there, `${method} ${JSON.stringify(headers)}`);
      }
    }
    assert.match(content('/private/notes.txt'), /Private notes/);
    assert.equal(existsSync(demo.nodes.realPath('/private/absent.txt')), false);
  });
});
