// The requests macOS Finder and the Windows WebDAV redirector send when they mount the share and save a file
// (docs/example-app.md, "Mounting the share"), replayed as those clients send them: bodies, Depth, Timeout,
// `If` with the lock token, and the token as the Basic password.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { type InProcessApp, startInProcess } from './support/example-app';

const FINDER = 'WebDAVFS/3.0.0 (03008000) Darwin/23.5.0 (arm64)';
const WINDOWS = 'Microsoft-WebDAV-MiniRedir/10.0.19045';

const FINDER_LISTING =
  '<?xml version="1.0" encoding="utf-8"?>\n<D:propfind xmlns:D="DAV:">\n<D:prop>\n<D:getlastmodified/>\n' +
  '<D:getcontentlength/>\n<D:creationdate/>\n<D:resourcetype/>\n</D:prop>\n</D:propfind>\n';
const FINDER_LOCK =
  '<?xml version="1.0" encoding="utf-8"?>\n<D:lockinfo xmlns:D="DAV:">\n<D:lockscope><D:exclusive/></D:lockscope>\n' +
  '<D:locktype><D:write/></D:locktype>\n<D:owner>\n<D:href>http://www.apple.com/webdav_fs/</D:href>\n</D:owner>\n' +
  '</D:lockinfo>\n';
const WINDOWS_PROPFIND =
  '<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:prop xmlns:Z="urn:schemas-microsoft-com:">' +
  '<D:creationdate/><D:displayname/><D:getcontentlength/><D:getcontenttype/><D:getetag/><D:getlastmodified/>' +
  '<D:resourcetype/><Z:Win32CreationTime/><Z:Win32LastAccessTime/><Z:Win32LastModifiedTime/>' +
  '<Z:Win32FileAttributes/></D:prop></D:propfind>';
const WINDOWS_LOCK =
  '<?xml version="1.0" encoding="utf-8" ?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>' +
  '<D:locktype><D:write/></D:locktype><D:owner><D:href>DESKTOP-1\\admin</D:href></D:owner></D:lockinfo>';
const WINDOWS_TIMES =
  '<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:">' +
  '<D:set><D:prop><Z:Win32CreationTime>Mon, 07 Dec 2026 10:00:00 GMT</Z:Win32CreationTime>' +
  '<Z:Win32LastModifiedTime>Mon, 07 Dec 2026 10:00:00 GMT</Z:Win32LastModifiedTime>' +
  '<Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>';

/** The hrefs of a multistatus, decoded. */
const hrefs = (xml: string) =>
  [...xml.matchAll(/<D:response><D:href>([^<]*)<\/D:href>/g)].map((m) => decodeURIComponent(m[1]!));

describe('example-app WebDAV: what Finder and Windows send', () => {
  let demo: InProcessApp;
  let admin: string;
  const dav = (userAgent: string) => ({
    send: (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
      let req = request(demo.app)
        [method.toLowerCase() as 'get'](path)
        .set('User-Agent', userAgent)
        .set('Authorization', admin);
      for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
      return body === undefined ? req : req.send(body);
    },
  });
  const lockToken = (res: request.Response) =>
    /^<(urn:uuid:[0-9a-f-]{36})>$/.exec(String(res.headers['lock-token']))![1]!;

  before(async () => {
    demo = startInProcess();
    admin = demo.basic('admin', (await demo.tokens.issue({ user: 'admin', expiresIn: '1h' })).token);
  });
  after(() => demo.close());

  test('Finder: OPTIONS, PROPFIND Depth 1 of the share, then a save (LOCK, PUT with If, UNLOCK)', async () => {
    const finder = dav(FINDER);
    const options = await finder.send('OPTIONS', '/dav/').expect(200);
    assert.match(String(options.headers.dav), /\b2\b/, 'class 2: Finder mounts read-write only then');
    const xml = { 'Content-Type': 'text/xml' };
    const listing = await finder
      .send('PROPFIND', '/dav/', { ...xml, Depth: '1' }, FINDER_LISTING)
      .expect(207);
    assert.deepEqual(hrefs(listing.text), ['/dav/', '/dav/docs/', '/dav/private/']);
    assert.match(listing.text, /<D:resourcetype><D:collection\/><\/D:resourcetype>/);
    assert.match(listing.text, /<D:getlastmodified>[^<]+ GMT<\/D:getlastmodified>/);
    assert.match(listing.text, /<D:creationdate>\d{4}-\d\d-\d\dT[\d:]+Z<\/D:creationdate>/);

    // Save as: an empty file first, locked, written under the lock, unlocked.
    await finder.send('PUT', '/dav/docs/From Finder.txt', { 'Content-Length': '0' }, '').expect(201);
    const locked = await finder
      .send('LOCK', '/dav/docs/From%20Finder.txt', { ...xml, Depth: '0', Timeout: 'Second-600' }, FINDER_LOCK)
      .expect(200);
    const held = lockToken(locked);
    assert.match(locked.text, /<D:timeout>Second-600<\/D:timeout>/);
    assert.match(locked.text, /http:\/\/www\.apple\.com\/webdav_fs\//);
    await finder.send('PUT', '/dav/docs/From%20Finder.txt', {}, 'saved by Finder').expect(423);
    await finder
      .send('PUT', '/dav/docs/From%20Finder.txt', { If: `(<${held}>)` }, 'saved by Finder')
      .expect(200);
    // Finder refreshes its lock every few minutes while the file is open: LOCK without a body.
    await finder
      .send('LOCK', '/dav/docs/From%20Finder.txt', { If: `(<${held}>)`, Timeout: 'Second-600' })
      .expect(200);
    await finder.send('UNLOCK', '/dav/docs/From%20Finder.txt', { 'Lock-Token': `<${held}>` }).expect(204);
    assert.equal(readFileSync(demo.nodes.realPath('/docs/From Finder.txt'), 'utf8'), 'saved by Finder');
  });

  test('Windows: PROPFIND Depth 0, then a save (LOCK, PROPPATCH of the Win32 times and PUT with If, UNLOCK)', async () => {
    const windows = dav(WINDOWS);
    const xml = { 'Content-Type': 'text/xml; charset="utf-8"' };
    const root = await windows.send('PROPFIND', '/dav', { ...xml, Depth: '0' }, WINDOWS_PROPFIND).expect(207);
    assert.deepEqual(hrefs(root.text), ['/dav/']);
    assert.match(root.text, /<D:getetag>/);
    // The Win32 properties nobody has set yet come back as 404, which Windows expects.
    assert.match(root.text, /<e:Win32CreationTime xmlns:e="urn:schemas-microsoft-com:"\/>.*404 Not Found/s);

    await windows.send('PUT', '/dav/docs/From%20Windows.txt', { 'Content-Length': '0' }, '').expect(201);
    const locked = await windows
      .send('LOCK', '/dav/docs/From%20Windows.txt', { ...xml, Timeout: 'Second-3600' }, WINDOWS_LOCK)
      .expect(200);
    const held = lockToken(locked);
    await windows.send('PROPPATCH', '/dav/docs/From%20Windows.txt', xml, WINDOWS_TIMES).expect(423);
    await windows
      .send('PROPPATCH', '/dav/docs/From%20Windows.txt', { ...xml, If: `(<${held}>)` }, WINDOWS_TIMES)
      .expect(207);
    await windows
      .send('PUT', '/dav/docs/From%20Windows.txt', { If: `(<${held}>)` }, 'saved by Windows')
      .expect(200);
    await windows.send('UNLOCK', '/dav/docs/From%20Windows.txt', { 'Lock-Token': `<${held}>` }).expect(204);
    const file = await windows
      .send('PROPFIND', '/dav/docs/From%20Windows.txt', { ...xml, Depth: '0' }, WINDOWS_PROPFIND)
      .expect(207);
    assert.match(
      file.text,
      /<e:Win32FileAttributes xmlns:e="urn:schemas-microsoft-com:">00000020<\/e:Win32FileAttributes>/,
    );
    assert.match(file.text, /<D:getcontentlength>16<\/D:getcontentlength>/);
  });
});
