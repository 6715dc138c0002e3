// Fuzzing the example app as a hostile, authenticated client would, over real HTTP against the app started
// as `npm start` does (its own process, so an exception nothing catches ends it and fails this test): every
// WebDAV method on paths with NUL, `%`, `%ff`, encoded slashes and dots, overlong and unicode segments, with
// random Destination, Depth, If, Overwrite, Lock-Token, Range and conditional (If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since) headers and malformed XML bodies, and the
// REST node API on the same paths. After every case: the process is up, the answer is not a 5xx, an error
// answer holds no stack, no "Error:" and no path of the data folder, and the root folder is still there; after
// every case that can change the tree (not GET, HEAD, OPTIONS, PROPFIND), WebDAV still serves the root.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { type SpawnedApp, spawnExampleApp } from './support/example-app';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 5_000);
// Two runs side by side, so the app and this process both have work whenever they get a CPU (one request at a
// time leaves each idle while the other works). Every check after a case holds whatever the other lane did.
const LANES = 2;

const WEBDAV_METHODS = [
  'GET',
  'HEAD',
  'OPTIONS',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'PUT',
  'POST',
  'DELETE',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
];

const READ_ONLY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PROPFIND']);

const segment = fc.oneof(
  fc.constantFrom('docs', 'private', 'reports', 'readme.txt', 'q1.txt', 'notes.txt', 'new', 'x.html'),
  fc.constantFrom(
    ...['%00', 'a%00', '%00.txt', '%', '%f', '%ff', '%c3%28', '%ED%A0%80', '%2f', '%2F', '%5c', '%5C'],
    ...[
      '.',
      '..',
      '%2e',
      '%2E',
      '%2e%2e',
      '.%2e',
      '..%2f',
      '%2f..%2f..',
      '',
      '%20',
      '~',
      "a'b",
      '%3F',
      '%23',
    ],
    ...['%E2%80%AE', '%F0%9F%98%80', 'Error:', '%0a', '%0d%0a'],
  ),
  fc.string({ maxLength: 12, unit: 'grapheme' }).map(encodeURIComponent),
  fc.integer({ min: 250, max: 300 }).map((length) => 'a'.repeat(length)),
  fc.integer({ min: 40, max: 200 }).map((length) => encodeURIComponent('é'.repeat(length))),
);
const path = fc
  .tuple(fc.array(segment, { maxLength: 5 }), fc.boolean())
  .map(([segments, slash]) => `/${segments.join('/')}${slash ? '/' : ''}`);

const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';
const body = fc.oneof(
  fc.constant(''),
  fc
    .constantFrom(
      '<D:propertyupdate xmlns:D="DAV:"/>',
      '<D:propertyupdate xmlns:D="DAV:"><D:set/></D:propertyupdate>',
      '<D:propertyupdate xmlns:D="DAV:"><D:remove/></D:propertyupdate>',
      '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop/></D:set></D:propertyupdate>',
      '<D:propertyupdate xmlns:D="DAV:"><D:set>text</D:set></D:propertyupdate>',
      '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:a>1</Z:a></D:prop></D:set></D:propertyupdate>',
      '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:remove><D:prop><D:displayname/></D:prop></D:remove>' +
        '<D:set><D:prop><Z:a>1</Z:a></D:prop></D:set></D:propertyupdate>',
      '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:remove><D:prop><Z:none/></D:prop></D:remove>' +
        '<D:set><D:prop><D:getetag>x</D:getetag></D:prop></D:set></D:propertyupdate>',
      '<D:lockinfo xmlns:D="DAV:"/>',
      '<D:lockinfo xmlns:D="DAV:"><D:lockscope/></D:lockinfo>',
      '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype/></D:lockinfo>',
      '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype>' +
        '<D:owner>fuzz</D:owner></D:lockinfo>',
      '<D:propfind xmlns:D="DAV:"/>',
      '<D:propfind xmlns:D="DAV:"><D:prop/></D:propfind>',
      '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><Z:x xmlns:Z="urn:z"/></D:prop></D:propfind>',
      '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>',
      '<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>',
      '<D:propfind xmlns:D="DAV:"><D:include/></D:propfind>',
    )
    .map((xml) => XML_DECLARATION + xml),
  fc.constantFrom(
    '<?xml',
    '<<>>',
    '<a xmlns="',
    '&bogus;',
    '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    '<x>',
  ),
  fc.string({ maxLength: 64 }),
);

const headerValue = <T>(values: fc.Arbitrary<T>) => fc.option(values, { nil: undefined });
// Conditional headers as clients send them and as they should not: lists, weak tags, stars, no quotes.
const entityTags = fc.oneof(
  fc.constantFrom('*', ' * ', '"x"', 'W/"x"', '"a", W/"b", *', '"', '""', 'W/', '"unterminated', ',,,'),
  fc.string({ maxLength: 60 }).map((text) => `"${text.replace(/[^\x20-\x7e]/g, '')}"`),
);
const httpDates = fc.constantFrom(
  'Thu, 01 Jan 1970 00:00:00 GMT',
  'Fri, 31 Dec 9999 23:59:59 GMT',
  'yesterday',
  '0',
  '-1',
  'Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT',
);

interface Case {
  method: string;
  target: string;
  headers: Record<string, string | undefined>;
  body: string;
}

function cases(baseUrl: string): fc.Arbitrary<Case> {
  const dav = fc.record({
    method: fc.constantFrom(...WEBDAV_METHODS),
    target: path.map((p) => `/dav${p}`),
    headers: fc.record({
      Destination: headerValue(
        fc.oneof(
          path.map((p) => `/dav${p}`),
          path.map((p) => `${baseUrl}/dav${p}`),
          fc.constantFrom(
            'http://elsewhere.example/dav/x',
            '/api/x',
            '%',
            'http://',
            '/dav/%00',
            '/dav/docs/%00',
          ),
        ),
      ),
      Depth: headerValue(fc.constantFrom('0', '1', 'infinity', '-1', 'abc', '99999999999999999999')),
      If: headerValue(
        fc.constantFrom(
          '(<urn:uuid:00000000-0000-4000-8000-000000000000>)',
          '(Not <DAV:no-lock>)',
          '</dav/docs> (<urn:x>)',
          `<${baseUrl}/dav/%00> (<urn:x>)`,
          '(',
          '<',
          '(<>',
          '(["etag"])',
          'garbage',
        ),
      ),
      Overwrite: headerValue(fc.constantFrom('T', 'F', 'x')),
      'Lock-Token': headerValue(fc.constantFrom('<urn:uuid:1>', 'x', '<>')),
      Timeout: headerValue(fc.constantFrom('Second-1', 'Infinite', 'x')),
      Range: headerValue(fc.constantFrom('bytes=0-1', 'bytes=-5', 'bytes=5-1', 'bytes=abc', 'bytes=0-1,3-4')),
      'If-Match': headerValue(entityTags),
      'If-None-Match': headerValue(entityTags),
      'If-Modified-Since': headerValue(httpDates),
      'If-Unmodified-Since': headerValue(httpDates),
    }),
    body,
  });
  const rest = fc.record({
    method: fc.constantFrom('GET', 'PUT'),
    target: fc.oneof(
      path.map((p) => `/api/nodes?path=${p}`),
      segment.map((s) => `/api/nodes/${s}`),
    ),
    headers: fc.constant({}),
    body,
  });
  return fc.oneof({ arbitrary: dav, weight: 4 }, { arbitrary: rest, weight: 1 });
}

describe('example-app under a WebDAV and REST fuzz (a running app, real HTTP)', () => {
  let app: SpawnedApp;
  let filesDir: string;
  let basic: string;
  const agent = new Agent({ keepAlive: true, maxSockets: LANES });

  const send = (method: string, target: string, headers: Record<string, string>, payload = '') =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      // Explicit: Node's client sends a GET's or DELETE's body with no length at all, which desynchronises
      // the connection (the server reads the body as the next request).
      const sized = { ...headers, 'Content-Length': String(Buffer.byteLength(payload)) };
      // `path`, not a URL: a URL would have its dot segments resolved before they are sent.
      const { hostname, port } = new URL(app.baseUrl);
      const options = { hostname, port, path: target, method, headers: sized, agent };
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${target} within 10 s`)));
      req.on('error', reject);
      req.end(payload);
    });

  before(async () => {
    app = await spawnExampleApp({ REDIS_URL: undefined, DATA_DIR: undefined });
    filesDir = /^ {2}files: +(\S+)/m.exec(app.banner)![1]!;
    basic = `Basic ${Buffer.from(`admin:${app.demoToken}`).toString('base64')}`;
  });

  after(async () => {
    agent.destroy();
    if (app && app.process.exitCode === null) await app.stop();
  });

  test(`${NUM_RUNS} hostile requests: the process stays up, nothing is a 5xx or leaks, the root survives`, async () => {
    const lane = () =>
      fc.assert(
        fc.asyncProperty(cases(app.baseUrl), async ({ method, target, headers, body: payload }) => {
          const sent: Record<string, string> = { Authorization: basic };
          for (const [name, value] of Object.entries(headers)) if (value !== undefined) sent[name] = value;
          if (target.startsWith('/api/')) sent.Authorization = `Bearer ${app.demoToken}`;
          const label = `${method} ${target} ${JSON.stringify(headers)} ${JSON.stringify(payload)}`;
          let answer: { status: number; text: string } | undefined;
          try {
            answer = await send(method, target, sent, payload);
          } catch (error) {
            // Node itself may refuse what it cannot parse and close the connection; the checks below decide.
            if (app.process.exitCode !== null || app.process.signalCode !== null) throw error;
          }
          assert.equal(app.process.exitCode, null, `the app exited after ${label}:\n${app.stderr()}`);
          if (answer) {
            assert.ok(answer.status < 500, `${answer.status} for ${label}: ${answer.text}`);
            if (answer.status >= 400) {
              assert.ok(!answer.text.includes(filesDir), `the data path leaked for ${label}`);
              assert.ok(!/^\s+at /m.test(answer.text), `a stack leaked for ${label}`);
              assert.ok(!answer.text.includes('Error:'), `an error message leaked for ${label}`);
            }
          }
          assert.ok(existsSync(filesDir), `the root folder is gone after ${label}`);
          // What reads the tree cannot change it: asking again whether the root is served is for the rest.
          if (!READ_ONLY_METHODS.has(method)) {
            const root = await send('PROPFIND', '/dav/', { Authorization: basic, Depth: '0' });
            assert.equal(root.status, 207, `the root is not served after ${label}: ${root.text}`);
          }
        }),
        { numRuns: NUM_RUNS / LANES, includeErrorInReport: true },
      );
    await Promise.all(Array.from({ length: LANES }, lane));
  });
});
