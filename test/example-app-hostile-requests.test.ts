// Requests an outside review sent to the example app as a hostile user, each of which crashed it, destroyed
// its files, let another site write into it, served a planted page as script, or leaked internals. Sent raw
// (the path exactly as written: no client resolves `.` or `..` first) to the app in this process, so that an
// exception nothing catches fails the test.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../example-app/app';
import { type InProcessApp, startInProcess } from './support/example-app';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

const XML = '<?xml version="1.0" encoding="utf-8"?>';
const ACTIVE_FILE_NAMES = [
  'page.html',
  'image.svg',
  'feed.xml',
  'script.js',
  'PAGE.HTM',
  'no-extension',
  'x.html.',
];

/** One request with the path exactly as given, to a server of this process. */
function rawRequest(
  server: Server,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { port } = server.address() as AddressInfo;
    const sized = { ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: sized }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }),
      );
    });
    // A guard, not a measurement: a request webdav-server never answers fails instead of hanging the run.
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

describe('example-app against hostile requests', () => {
  let demo: InProcessApp;
  let server: Server;
  let admin: string; // Basic, full access
  let adminBearer: string;

  const send = (method: string, path: string, headers: Record<string, string> = {}, body = '') =>
    rawRequest(server, method, path, headers, body);
  const dav = (method: string, path: string, headers: Record<string, string> = {}, body = '') =>
    send(method, path, { Authorization: admin, ...headers }, body);
  const rootIsServed = async () => {
    assert.ok(existsSync(demo.nodes.filesDir), 'the root folder exists');
    assert.equal((await dav('PROPFIND', '/dav/', { Depth: '1' })).status, 207, 'and is served');
    assert.ok(existsSync(demo.nodes.realPath('/docs/readme.txt')), 'with its files');
  };

  before(async () => {
    demo = startInProcess();
    const issued = await demo.tokens.issue({ user: 'admin', expiresIn: '1h' });
    admin = demo.basic('admin', issued.token);
    adminBearer = `Bearer ${issued.token}`;
    server = demo.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
  });
  after(() => {
    server.close();
    demo.close();
  });

  describe('no request kills the process', () => {
    test('a NUL byte in the path (checked before the file system sees it): 400', async () => {
      for (const path of ['/dav/private/%00', '/dav/%00', '/dav/docs/a%00b.txt', '/dav/docs/%00/x']) {
        for (const method of ['GET', 'PROPFIND', 'PUT', 'DELETE', 'MKCOL']) {
          const res = await dav(method, path);
          assert.equal(res.status, 400, `${method} ${path}`);
          assert.deepEqual(JSON.parse(res.text), { error: 'invalid_path' });
        }
      }
      await rootIsServed();
    });

    test('a NUL byte in the last segment of a COPY or MOVE Destination: 400', async () => {
      for (const method of ['COPY', 'MOVE']) {
        for (const destination of ['/dav/docs/a%00', '/dav/%00', 'http://localhost/dav/docs/reports/%00']) {
          const res = await dav(method, '/dav/docs/readme.txt', { Destination: destination });
          assert.equal(res.status, 400, `${method} to ${destination}`);
          assert.deepEqual(JSON.parse(res.text), { error: 'invalid_destination' });
        }
      }
      await rootIsServed();
    });

    test('PROPPATCH whose set or remove has no prop, or with no update at all: 400', async () => {
      for (const update of [
        '<D:set/>',
        '<D:remove/>',
        '<D:set>text</D:set>',
        '<D:remove><D:nothing/></D:remove>',
        '',
      ]) {
        const body = `${XML}<D:propertyupdate xmlns:D="DAV:">${update}</D:propertyupdate>`;
        assert.equal((await dav('PROPPATCH', '/dav/docs/readme.txt', {}, body)).status, 400, update);
      }
      const empty = `${XML}<D:propertyupdate xmlns:D="DAV:"/>`;
      assert.equal((await dav('PROPPATCH', '/dav/docs/readme.txt', {}, empty)).status, 400);
      await rootIsServed();
    });

    test('PROPPATCH of a protected DAV: property beside another update: 403 (undoing the rest crashed)', async () => {
      const body =
        `${XML}<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example">` +
        '<D:remove><D:prop><D:displayname/></D:prop></D:remove>' +
        '<D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>';
      assert.equal((await dav('PROPPATCH', '/dav/docs/readme.txt', {}, body)).status, 403);
      await rootIsServed();
    });

    test('a header webdav-server would read under a looser name (Content length, Destin-ation): 400', async () => {
      const aliases: Record<string, string>[] = [
        { contentlength: '99999999999' },
        { 'destin-ation': '/dav/%00' },
        { 'Over-write': 'T' },
      ];
      for (const headers of aliases) {
        const res = await dav('PROPFIND', '/dav/docs/', headers);
        assert.equal(res.status, 400, JSON.stringify(headers));
        assert.deepEqual(JSON.parse(res.text), { error: 'ambiguous_header' });
      }
      await rootIsServed();
    });

    test('MOVE into a folder that does not exist, or below a file: 409 (a server error before)', async () => {
      assert.equal((await dav('PUT', '/dav/docs/mover.txt', {}, 'x')).status, 201);
      for (const destination of ['/dav/nowhere/mover.txt', '/dav/docs/readme.txt/mover.txt']) {
        const res = await dav('MOVE', '/dav/docs/mover.txt', { Destination: destination });
        assert.equal(res.status, 409, destination);
      }
      assert.ok(existsSync(demo.nodes.realPath('/docs/mover.txt')));
    });

    test('an XML body over 1 MiB (webdav-server buffers it whole): 413', async () => {
      const body = `${XML}<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`.padEnd(1024 * 1024 + 1, ' ');
      assert.equal((await dav('PROPFIND', '/dav/docs/', {}, body)).status, 413);
    });
  });

  describe('the root can never be deleted or moved away, whatever the encoding', () => {
    test('DELETE of every spelling of the root: 403, and every file is still there', async () => {
      for (const path of [
        '/dav/%2f/',
        '/dav/%2F',
        '/dav//',
        '/dav/./',
        '/dav/%2e/',
        '/dav/%2E%2f',
        '/dav/%5c',
        '/dav/docs/..',
        '/dav/docs/%2e%2e/',
        '/dav/docs/..%2f',
        '/dav/%2f%2f/.',
      ]) {
        const res = await dav('DELETE', path);
        assert.equal(res.status, 403, path);
        assert.deepEqual(JSON.parse(res.text), { error: 'root_is_protected' }, path);
      }
      await rootIsServed();
    });

    test('MOVE or COPY of the root, however spelled, into a folder of its own: 403', async () => {
      for (const path of ['/dav/%2f', '/dav/./', '/dav/docs/..']) {
        for (const method of ['MOVE', 'COPY']) {
          const res = await dav(method, path, { Destination: '/dav/docs/root-copy', Overwrite: 'T' });
          assert.equal(res.status, 403, `${method} ${path}`);
        }
      }
      assert.equal(existsSync(demo.nodes.realPath('/docs/root-copy')), false);
      await rootIsServed();
    });

    test('REST: the root cannot be overwritten either (409)', async () => {
      const res = await send('PUT', `/api/nodes/${demo.uuidOf('/')}`, { Authorization: adminBearer }, 'x');
      assert.equal(res.status, 409);
      await rootIsServed();
    });
  });

  describe('errors never leak internals', () => {
    const assertShortJson = (res: Answer, status: number, error: string, label: string) => {
      assert.equal(res.status, status, label);
      assert.match(String(res.headers['content-type']), /^application\/json/, label);
      assert.deepEqual(JSON.parse(res.text), { error }, label);
    };

    test('bad paths are a short JSON 400 or 404, whatever NODE_ENV is', async () => {
      const nodeEnv = process.env.NODE_ENV;
      try {
        for (const env of ['development', 'production']) {
          process.env.NODE_ENV = env;
          // Express reads NODE_ENV when an app is created.
          const app = createApp({ tokens: demo.tokens, nodes: demo.nodes });
          const envServer = app.listen(0, '127.0.0.1');
          await new Promise((resolve) => envServer.once('listening', resolve));
          const get = (path: string, authorization: string) =>
            rawRequest(envServer, 'GET', path, { Authorization: authorization }, '');
          try {
            const notADirectory = await get('/api/nodes?path=/docs/readme.txt/x', adminBearer);
            assertShortJson(notADirectory, 404, 'not_found', `${env}: a path below a file`);
            for (const path of ['/dav/docs/%ff', '/dav/docs/%', '/dav/%E0%A4%A']) {
              assertShortJson(await get(path, admin), 400, 'invalid_path', `${env}: ${path}`);
            }
            const overlong = `/api/nodes?path=/docs/${'a'.repeat(300)}`;
            assertShortJson(
              await get(overlong, adminBearer),
              400,
              'invalid_path',
              `${env}: an overlong name`,
            );
            assertShortJson(await get('/nowhere', admin), 404, 'not_found', `${env}: no such route`);
          } finally {
            envServer.close();
          }
        }
      } finally {
        process.env.NODE_ENV = nodeEnv;
      }
    });

    test('an unexpected failure is logged on the server and answered with a bare 500', async (t) => {
      const logged = t.mock.method(console, 'error', () => {});
      const moved = `${demo.nodes.filesDir}.away`;
      renameSync(demo.nodes.filesDir, moved); // the data folder vanished under the app
      try {
        const res = await send('GET', '/api/nodes?path=/docs', { Authorization: adminBearer });
        assertShortJson(res, 500, 'internal_error', 'a missing data folder');
        assert.ok(!res.text.includes(demo.nodes.filesDir));
        assert.equal(logged.mock.callCount(), 1, 'the details went to the server log');
      } finally {
        renameSync(moved, demo.nodes.filesDir);
      }
    });
  });

  describe('browsers cannot write into WebDAV for another site', () => {
    const page = '<script>document.title = "planted"</script>';

    test('POST is refused (405) before authentication, and writes nothing', async () => {
      for (const headers of [{}, { Authorization: admin }] as Record<string, string>[]) {
        const res = await send('POST', '/dav/docs/posted.html', headers, page);
        assert.equal(res.status, 405);
        assert.ok(!/POST/.test(String(res.headers.allow)), 'POST is not in Allow');
      }
      assert.equal(existsSync(demo.nodes.realPath('/docs/posted.html')), false);
    });

    test('a state-changing request another site sent is refused (403); reads and clients are not', async () => {
      const { port } = server.address() as AddressInfo;
      const crossSite: Record<string, string>[] = [
        { Origin: 'http://evil.example' },
        { Origin: `http://localhost:${port}` },
        { Origin: 'null' },
        { 'Sec-Fetch-Site': 'cross-site' },
        { 'Sec-Fetch-Site': 'same-site' },
      ];
      for (const headers of crossSite) {
        for (const [method, path] of [
          ['PUT', '/dav/docs/cross.html'],
          ['DELETE', '/dav/docs/readme.txt'],
          ['MKCOL', '/dav/docs/cross'],
          ['PROPPATCH', '/dav/docs/readme.txt'],
          ['LOCK', '/dav/docs/readme.txt'],
        ] as const) {
          const res = await dav(method, path, headers, method === 'PUT' ? page : '');
          assert.equal(res.status, 403, `${method} with ${JSON.stringify(headers)}`);
          assert.deepEqual(JSON.parse(res.text), { error: 'cross_site_request' });
        }
      }
      assert.equal(existsSync(demo.nodes.realPath('/docs/cross.html')), false);
      assert.equal(existsSync(demo.nodes.realPath('/docs/cross')), false);
      assert.ok(existsSync(demo.nodes.realPath('/docs/readme.txt')));

      const sameOrigin = { Origin: `http://127.0.0.1:${port}`, 'Sec-Fetch-Site': 'same-origin' };
      assert.equal((await dav('PUT', '/dav/docs/same.txt', sameOrigin, 'ok')).status, 201);
      const read = await dav('PROPFIND', '/dav/docs/', { Origin: 'http://evil.example', Depth: '1' });
      assert.equal(read.status, 207, 'a read from another site is up to CORS, which is not granted');
      for (const header of ['access-control-allow-origin', 'access-control-allow-credentials']) {
        assert.equal(read.headers[header], undefined, `${header}: no other site may read the answer`);
      }
      assert.equal(
        (await dav('PUT', '/dav/docs/client.txt', {}, 'ok')).status,
        201,
        'clients send no Origin',
      );
    });
  });

  describe('files users uploaded never run as script in the app origin', () => {
    const planted = '<!DOCTYPE html><script>fetch("/settings/tokens")</script>';

    test('every file answer has a sandbox CSP and nosniff; active types are downloads', async () => {
      for (const name of ACTIVE_FILE_NAMES) {
        assert.equal((await dav('PUT', `/dav/docs/${name}`, {}, planted)).status, 201, name);
      }
      const answers = async (name: string) => [
        await dav('GET', `/dav/docs/${encodeURIComponent(name)}`),
        await dav('HEAD', `/dav/docs/${encodeURIComponent(name)}`),
        await send('GET', `/api/nodes/${demo.uuidOf(`/docs/${name}`)}`, { Authorization: adminBearer }),
      ];
      for (const name of ACTIVE_FILE_NAMES) {
        for (const res of await answers(name)) {
          assert.equal(res.status, 200, name);
          assert.match(String(res.headers['content-security-policy']), /^sandbox(;|$)/, name);
          assert.equal(res.headers['x-content-type-options'], 'nosniff', name);
          assert.equal(res.headers['content-disposition'], 'attachment', name);
        }
      }
      for (const res of await answers('readme.txt')) {
        assert.match(String(res.headers['content-security-policy']), /^sandbox(;|$)/);
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['content-disposition'], undefined, 'plain text is shown inline');
      }
      assert.equal(readFileSync(demo.nodes.realPath('/docs/page.html'), 'utf8'), planted);
    });
  });
});
