// The requests macOS Finder, the Windows WebDAV redirector and GNOME Files (gvfs) send when they mount the
// share and save a file (docs/example-app.md, "Mounting the share"), replayed as those clients send them:
// bodies, Depth, Timeout, `If` with the lock token or `If-Match` with the entity tag, and the token as the
// Basic password.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { type InProcessApp, startInProcess } from './support/example-app';

const FINDER = 'WebDAVFS/3.0.0 (03008000) Darwin/23.5.0 (arm64)';
const WINDOWS = 'Microsoft-WebDAV-MiniRedir/10.0.19045';
const GNOME = 'gvfs/1.54.0';

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

// gvfs' bodies (daemon/gvfsbackenddav.c): the stat of a location, and the properties of a listing.
const GVFS_STAT =
  '<?xml version="1.0" encoding="utf-8" ?>\n <D:propfind xmlns:D="DAV:">\n  <D:prop>\n<D:resourcetype/>\n' +
  '<D:getcontentlength/>\n  </D:prop>\n </D:propfind>';
const GVFS_LISTING =
  '<?xml version="1.0" encoding="utf-8" ?>\n <D:propfind xmlns:D="DAV:">\n  <D:prop>\n<D:creationdate/>\n' +
  '<D:displayname/>\n<D:getcontentlength/>\n<D:getcontenttype/>\n<D:getetag/>\n<D:getlastmodified/>\n' +
  '<D:resourcetype/>\n  </D:prop>\n </D:propfind>';
// gvfs names the host it mounted in a MOVE's Destination, as an absolute URI.
const GNOME_HOST = 'dav.example';

/** The hrefs of a multistatus, decoded. */
const hrefs = (xml: string) =>
  [...xml.matchAll(/<D:response><D:href>([^<]*)<\/D:href>/g)].map((m) => decodeURIComponent(m[1]!));

describe('example-app WebDAV: what Finder, Windows and GNOME Files send', () => {
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
  /** The entity tag of the one response of a Depth 0 multistatus, as a client sends it back. */
  const etagOf = (xml: string) => {
    const tag = /<D:getetag>([^<]+)<\/D:getetag>/.exec(xml)?.[1]?.replaceAll('&quot;', '"');
    assert.match(tag ?? '', /^"[^"]+"$/, xml);
    return tag!;
  };
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

  test('GNOME Files: mount (OPTIONS, PROPFIND Depth 1, OPTIONS of the parent), list, create, save with If-Match, rename, mkdir, delete', async () => {
    const gnome = dav(GNOME);
    const xml = { 'Content-Type': 'application/xml', Host: GNOME_HOST };
    const host = { Host: GNOME_HOST };
    // Mount: libsoup asks without credentials first, and sends them on the Basic challenge.
    const challenge = await request(demo.app).options('/dav/').set('User-Agent', GNOME).expect(401);
    assert.match(String(challenge.headers['www-authenticate']), /^Basic /);
    const options = await gnome.send('OPTIONS', '/dav/', host).expect(200);
    assert.ok(options.headers.dav, 'gvfs mounts only a share that answers with a DAV header');
    const stat = await gnome.send('PROPFIND', '/dav/', { ...xml, Depth: '1' }, GVFS_STAT).expect(207);
    assert.equal(hrefs(stat.text)[0], '/dav/');
    assert.match(
      stat.text,
      /^<\?xml[^>]*>\s*<D:multistatus[^>]*><D:response><D:href>\/dav\/<\/D:href><D:propstat><D:prop><D:resourcetype><D:collection\/>/,
    );
    // It then climbs to the parent, and keeps /dav/ as the mount unless the parent is a DAV collection too.
    const parent = await gnome.send('OPTIONS', '/', host);
    assert.ok(parent.status >= 300 || parent.headers.dav === undefined, `OPTIONS /: ${parent.status}`);

    const listing = await gnome
      .send('PROPFIND', '/dav/docs/', { ...xml, Depth: '1' }, GVFS_LISTING)
      .expect(207);
    assert.ok(hrefs(listing.text).includes('/dav/docs/readme.txt'), listing.text);

    // A new file: HEAD must find nothing, then PUT.
    await gnome.send('HEAD', '/dav/docs/From%20GNOME.txt', host).expect(404);
    await gnome.send('PUT', '/dav/docs/From%20GNOME.txt', host, 'first').expect(201);
    // A save over it: the tag from its listing, checked by a HEAD, then sent with the PUT.
    const read = await gnome
      .send('PROPFIND', '/dav/docs/From%20GNOME.txt', { ...xml, Depth: '0' }, GVFS_LISTING)
      .expect(207);
    const etag = etagOf(read.text);
    await gnome.send('HEAD', '/dav/docs/From%20GNOME.txt', { ...host, 'If-Match': etag }).expect(200);
    const saved = await gnome.send(
      'PUT',
      '/dav/docs/From%20GNOME.txt',
      { ...host, 'If-Match': etag },
      'second',
    );
    assert.ok([200, 204].includes(saved.status), `PUT with If-Match: ${saved.status}`);
    assert.equal(readFileSync(demo.nodes.realPath('/docs/From GNOME.txt'), 'utf8'), 'second');

    // Rename: MOVE to an absolute URI on the mounted host, never over an existing file.
    const renamed = `http://${GNOME_HOST}/dav/docs/Renamed%20in%20GNOME.txt`;
    await gnome
      .send('MOVE', '/dav/docs/From%20GNOME.txt', { ...host, Destination: renamed, Overwrite: 'F' })
      .expect(201);
    const readme = readFileSync(demo.nodes.realPath('/docs/readme.txt'), 'utf8');
    const onto = `http://${GNOME_HOST}/dav/docs/readme.txt`;
    await gnome
      .send('MOVE', '/dav/docs/Renamed%20in%20GNOME.txt', { ...host, Destination: onto, Overwrite: 'F' })
      .expect(412);
    await gnome.send('MKCOL', '/dav/docs/GNOME%20folder/', host).expect(201);
    assert.ok(statSync(demo.nodes.realPath('/docs/GNOME folder')).isDirectory());
    // Delete: a stat with its children (a folder that has any is not deleted), then DELETE.
    await gnome
      .send('PROPFIND', '/dav/docs/Renamed%20in%20GNOME.txt', { ...xml, Depth: '1' }, GVFS_STAT)
      .expect(207);
    const deleted = await gnome.send('DELETE', '/dav/docs/Renamed%20in%20GNOME.txt', host);
    assert.ok(deleted.status >= 200 && deleted.status < 300, `DELETE: ${deleted.status}`);
    assert.equal(existsSync(demo.nodes.realPath('/docs/Renamed in GNOME.txt')), false);
    assert.equal(
      readFileSync(demo.nodes.realPath('/docs/readme.txt'), 'utf8'),
      readme,
      'the refused rename left it',
    );
  });

  test('GNOME Files: a save over a file changed elsewhere since it was read is refused (If-Match, 412)', async () => {
    const gnome = dav(GNOME);
    const xml = { 'Content-Type': 'application/xml' };
    await gnome.send('PUT', '/dav/docs/shared%20notes.txt', {}, 'as read').expect(201);
    const read = await gnome
      .send('PROPFIND', '/dav/docs/shared%20notes.txt', { ...xml, Depth: '0' }, GVFS_LISTING)
      .expect(207);
    const etag = etagOf(read.text);
    // Another client saves meanwhile, with content of the same size.
    await dav(FINDER).send('PUT', '/dav/docs/shared%20notes.txt', {}, 'elsewhere').expect(200);
    // gvfs checks the tag with a HEAD before it saves, and says "The file was externally modified" on a 412.
    const check = await gnome.send('HEAD', '/dav/docs/shared%20notes.txt', { 'If-Match': etag });
    const save = await gnome.send('PUT', '/dav/docs/shared%20notes.txt', { 'If-Match': etag }, 'stale save');
    assert.deepEqual([check.status, save.status], [412, 412]);
    assert.equal(readFileSync(demo.nodes.realPath('/docs/shared notes.txt'), 'utf8'), 'elsewhere');
  });
});
