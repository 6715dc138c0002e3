// Differential tests of forward auth against the servers it speaks for. Hostile requests go through the
// docs' nginx and Caddy configurations (test/support/reverse-proxy.ts) to two differently written WebDAV
// servers, `rclone serve webdav` (Go, golang.org/x/net/webdav) and nginx's own dav module (C), and the
// oracle is the upstream's file tree: whatever a case did there must lie inside the token's scope and
// be the very path forward auth checked, or the two read the request differently. Every file holds its
// own path as a marker, so a COPY or a GET also shows which file the upstream read.
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import { MemoryTokenStore } from '../adapters/memory';
import { readForwardedRequest } from '../lib/http/forwarded-request';
import { forwardAuth, TokenService } from '../lib/index';
import { byFirstSegment } from './support/forward-auth-e2e';
import { freePort } from './support/free-port';
import { ownedTempDir } from './support/owned-processes';
import {
  type OwnedServer,
  startCaddy,
  startNginx,
  startNginxWith,
  startRcloneWebdav,
} from './support/reverse-proxy';

const RUNS = 2_000;
// The tree every case starts from; `/a` is the token's folder, the rest is out of its scope.
const FOLDERS = ['/a', '/a/sub', '/A', '/b', '/secret', '/secret/sub'];
const FILES = [
  '/a/k.txt',
  '/a/sub/f.txt',
  '/A/k.txt',
  '/b/x.txt',
  '/secret/x.txt',
  '/secret/sub/y.txt',
  '/top.txt',
];
const MARKER = 'marker:';
// Sent with each case, so that the auth server's decision can be found again.
const CASE_HEADER = 'x-differential-case';

/** What forward auth decided for one case: its answer, and the request it read. */
interface Decision {
  status: number;
  method?: string;
  path?: string;
  destination?: string;
}

/** A request as the client writes it; `{host}` and `{port}` stand for the proxy's address. */
interface HostileRequest {
  method: string;
  target: string;
  headers: [string, string][];
  /** Send no `Host` of our own (the case's headers hold the ones to send, if any). */
  ownHost?: false;
}

interface Pair {
  name: string;
  proxy: OwnedServer;
  dir: string;
  host: string;
}

const decisions = new Map<string, Decision>();
/** What the cases of a suite did, so that a suite that never reaches the upstream shows. */
interface Tally {
  allowed: number;
  changed: number;
}
let nextCase = 0;

// ---- what clients may send -------------------------------------------------------------------------

const SEGMENTS = [
  ...['a', 'A', 'b', 'secret', 'k.txt', 'x.txt', 'new.txt', 'sub', '..', '.', ''],
  ...['%2e%2e', '%2E%2e', '.%2e', '%2e', '%2f', '%2F', '%5c', '%5C', '\\', '%00', '%01', '%7f', '%0a'],
  ...[';', ';x', '..;', '..;x', '%3b', '%3f', '%3F', '%23', '?', '#', '%25', '%252e%252e', '%252f'],
  ...['%c0%ae%c0%ae', '%c0%af', '%e0%80%ae', '%C3%A9', 'é', 'e\u0301', 'ａ', '%EF%BC%8F', '／', '\u00a0'],
  ...['\u200b', '%E2%80%AE', '@', ':', '~', '%20', '\t', '%', '%zz', 'a%2fsecret', '..%2f', '%2e%2e%2f'],
  ...['%u002e', '%7e', 'secret@a', 'a:b', 'A'.repeat(300)],
];
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z%.\\/?#;@:2eEfF5c]{0,6}$/) },
);
const PATH_STARTS = [
  '/',
  '/a/',
  '/secret/',
  '//',
  '///',
  '/a/../',
  '/A/',
  '/a/..%2f',
  '/./',
  '/%2e/',
  '',
  'a/',
];
const PATH_ENDS = ['', '', '/', '?x', '?/../secret/x.txt', '#', '#/../secret/x.txt', ';', ';/../secret'];
const hostilePath = fc
  .tuple(
    fc.constantFrom(...PATH_STARTS, '\\', '/b/'),
    fc.array(segment, { maxLength: 6 }),
    fc.constantFrom(...PATH_ENDS, '%00', '?://{host}/a/', '#://{host}/a/', `/${'x'.repeat(9000)}`),
  )
  .map(([start, segments, end]) => start + segments.join('/') + end);
// Mostly names a server accepts, with a hostile part here and there: a case the proxy or the auth
// server refuses outright shows nothing about how the upstream reads it.
const plausiblePath = fc
  .tuple(
    fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('k.txt', 'new.txt', 'sub', 'f.txt', 'n', 'a', 'secret') },
        { weight: 1, arbitrary: segment },
      ),
      { maxLength: 4 },
    ),
    fc.constantFrom(...PATH_ENDS),
  )
  .map(([segments, end]) => `/a/${segments.join('/')}${end}`);
const path = fc.oneof(plausiblePath, hostilePath);

const HOSTS = [
  ...['{host}', 'a', 'A', 'secret', 'a:80', '{host}:1', 'evil', '', 'a@{host}', '{host}@a', '127.0.0.1'],
  ...['localhost:{port}', '[::1]:{port}', 'a.', 'a/secret', 'a%2f', 'A ', '{host}/a', '{host}#', '{host}.'],
];
const host = fc.constantFrom(...HOSTS);

const DESTINATION_STARTS = [
  ...['', 'http://{host}', 'https://{host}', 'HTTP://{host}', 'http://a', 'http://{host}@evil'],
  ...['http://user@{host}', 'http://{host}:80', 'ftp://{host}', ' http://{host}', 'http:', 'http:/'],
  ...['//{host}', '//a', '/', 'http://{host}/a/..', '\\\\{host}', 'http:\\\\{host}', 'http://{host}\\'],
  ...['mailto:x@{host}', 'http://{host}/secret/x.txt?', 'http://{host}#'],
];
const destination = fc
  .oneof(
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('', 'http://{host}', 'https://{host}'), plausiblePath) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...DESTINATION_STARTS), path) },
  )
  .map(([start, rest]) => start + rest);

const METHODS = [
  ...['GET', 'get', 'Get', 'HEAD', 'PROPFIND', 'OPTIONS', 'PUT', 'put', 'Put', 'DELETE', 'delete', 'MKCOL'],
  ...['mkcol', 'COPY', 'copy', 'MOVE', 'move', 'PATCH', 'POST', 'LOCK', 'PROPPATCH', 'G ET', 'GET\t'],
  ...['DELETE\u0000', ' PUT', 'PUT ', 'GET,PUT', 'PUT\u000b', 'PÜT', 'DEL%45TE', 'X'.repeat(40)],
];
const method = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z \t,]{1,8}$/) },
);
// What a client adds to pass one request off as another: the headers the proxy sets for the auth
// server, and the method overrides some frameworks honour.
const forgedHeader = (values: fc.Arbitrary<string>) =>
  fc.tuple(
    fc.constantFrom(
      'X-Original-Method',
      'X-Forwarded-Method',
      'X-HTTP-Method-Override',
      'X-Original-URI',
      'X-Forwarded-Uri',
      'X-Forwarded-Host',
      'X-Forwarded-Prefix',
    ),
    values,
  );
const forged = fc.array(forgedHeader(fc.oneof(method, path, host)), { maxLength: 2 });
const overwrite = fc.array(
  fc.constantFrom<[string, string]>(['Overwrite', 'T'], ['Overwrite', 'F'], ['Overwrite', 't']),
  { maxLength: 1 },
);

/**
 * The four suites: each header forward auth reads, made hostile, with the token it is tried with.
 * `known` are requests that once got through, tried first in every run.
 */
const SUITES: {
  header: string;
  scope: string;
  cases: fc.Arbitrary<HostileRequest>;
  known: HostileRequest[];
}[] = [
  {
    header: 'the request path (X-Original-URI, X-Forwarded-Uri)',
    scope: 'node:a:rw',
    // rclone copies a folder into itself until the disk is full.
    known: [{ method: 'COPY', target: '/a/', headers: [['Destination', '/a/moved.txt']] }],
    cases: fc
      .tuple(fc.constantFrom('GET', 'PUT', 'MKCOL', 'DELETE', 'MOVE', 'COPY'), path, forged, overwrite)
      .map(([verb, target, headers, over]) => ({
        method: verb,
        target,
        headers: [...headers, ...over, ['Destination', '/a/moved.txt'] as [string, string]],
      })),
  },
  {
    // A read-only token: nothing at all may change.
    header: 'the method (X-Original-Method, X-Forwarded-Method)',
    scope: 'node:a:r',
    known: [{ method: 'PUT', target: '/a/k.txt', headers: [['X-Forwarded-Method', 'GET']] }],
    cases: fc
      .tuple(
        method,
        fc.constantFrom('/a/k.txt', '/a/new.txt', '/a/', '/a/sub/', '/a'),
        forged,
        fc.array(fc.constant<[string, string]>(['Destination', '/a/copied.txt']), { maxLength: 1 }),
      )
      .map(([verb, target, headers, destinations]) => ({
        method: verb,
        target,
        headers: [...headers, ...destinations],
      })),
  },
  {
    header: 'Destination',
    scope: 'node:a:rw',
    // Go's url.Parse cuts the path at `?` or `#`; the parser before this one took `://` anywhere as
    // the end of a scheme, and checked the path after it.
    known: [
      { method: 'COPY', target: '/a/k.txt', headers: [['Destination', '/secret/x.txt?://h/a/']] },
      { method: 'COPY', target: '/a/k.txt', headers: [['Destination', '/secret/x.txt#://h/a/']] },
      {
        method: 'MOVE',
        target: '/a/k.txt',
        headers: [
          ['Destination', 'http://{host}/secret/x.txt?://x/a/'],
          ['Overwrite', 'T'],
        ],
      },
    ],
    cases: fc
      .tuple(
        fc.constantFrom('COPY', 'MOVE'),
        fc.constantFrom('/a/k.txt', '/a/sub/', '/a/sub', '/a/sub/f.txt'),
        fc.array(destination, { minLength: 1, maxLength: 2 }),
        overwrite,
        forged,
      )
      .map(([verb, target, destinations, over, headers]) => ({
        method: verb,
        target,
        headers: [
          ...destinations.map((value): [string, string] => ['Destination', value]),
          ...over,
          ...headers,
        ],
      })),
  },
  {
    header: 'Host (and X-Forwarded-Host)',
    scope: 'node:a:rw',
    // Go takes what follows a leading `//` as the host, and compares it with Host.
    known: [
      {
        method: 'COPY',
        target: '/a/k.txt',
        ownHost: false,
        headers: [
          ['Host', 'a'],
          ['Destination', '//a/secret/pwn.txt'],
        ],
      },
    ],
    cases: fc
      .tuple(
        fc.constantFrom('COPY', 'MOVE'),
        fc.constantFrom('/a/k.txt', 'http://{host}/a/k.txt', 'http://a/a/k.txt', 'http://secret/a/k.txt'),
        // One host named in Host and in the Destination, most of the time: what a Go server compares.
        fc.oneof({ weight: 2, arbitrary: fc.constant('{host}') }, host),
        fc.constantFrom('same', 'same', 'other'),
        fc.array(host, { maxLength: 2 }),
        fc.constantFrom('http://', 'https://', '//', '//', ''),
        fc.constantFrom('/a/y.txt', '/secret/y.txt', '/a/../secret/y.txt', '/secret/x.txt', ''),
        fc.array(forgedHeader(host), { maxLength: 1 }),
        overwrite,
      )
      .map(([verb, target, named, hostHeaders, others, scheme, destinationPath, headers, over]) => ({
        method: verb,
        target,
        ownHost: false,
        headers: [
          ...(hostHeaders === 'same' ? [named] : others).map((value): [string, string] => ['Host', value]),
          ['Destination', scheme + named + destinationPath],
          ...headers,
          ...over,
        ],
      })),
  },
];

// ---- the servers ----------------------------------------------------------------------------------

/** nginx as a WebDAV server (its dav module) on `dir`. */
async function startNginxDav(dir: string): Promise<OwnedServer> {
  const port = await freePort();
  const block = [
    'server {',
    `  listen 127.0.0.1:${port};`,
    `  root ${dir};`,
    '  dav_methods PUT DELETE MKCOL COPY MOVE;',
    '  client_max_body_size 0;',
    '}',
  ].join('\n');
  return startNginxWith(block, port);
}

/** The auth server: forwardAuth() on the memory store, each decision kept by the case it answered. */
async function startAuth(tokens: TokenService): Promise<{ port: number; stop(): Promise<void> }> {
  const handler = forwardAuth({ tokens, resolveNode: byFirstSegment });
  const app = express();
  app.set('trust proxy', 'loopback');
  app.use('/auth', (req, res, next) => {
    const id = req.headers[CASE_HEADER];
    if (typeof id === 'string') {
      const read = readForwardedRequest(req);
      res.once('finish', () =>
        decisions.set(id, { status: res.statusCode, ...(read.ok ? read.request : {}) }),
      );
    }
    handler(req, res, next);
  });
  const server = await new Promise<Server>((ready) => {
    const listening = app.listen(0, '127.0.0.1', () => ready(listening));
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

// ---- the upstream's tree --------------------------------------------------------------------------

function resetTree(dir: string): void {
  if (!lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    rmSync(dir, { force: true });
    mkdirSync(dir);
  }
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
  for (const folder of FOLDERS) mkdirSync(join(dir, folder));
  for (const file of FILES) writeFileSync(join(dir, file), MARKER + file);
}

/** Every entry under `dir`: its path, and what changes when it is written, replaced or removed. */
function snapshot(dir: string, below = ''): Map<string, string> {
  const entries = new Map<string, string>();
  // The root itself replaced by a file, or removed (a COPY onto `/` with Overwrite does that).
  if (below === '' && !lstatSync(dir, { throwIfNoEntry: false })?.isDirectory())
    return entries.set('/', 'gone');
  for (const name of readdirSync(join(dir, below))) {
    const path = `${below}/${name}`;
    const stat = lstatSync(join(dir, path), { bigint: true });
    // A folder changes when it is made or removed, not when something inside it does (that shows on
    // its own); a file when it is written, replaced or removed.
    entries.set(
      path,
      stat.isDirectory()
        ? `${stat.mode}:${stat.ino}`
        : `${stat.mode}:${stat.size}:${stat.mtimeNs}:${stat.ino}`,
    );
    if (stat.isDirectory()) for (const [p, s] of snapshot(dir, path)) entries.set(p, s);
  }
  return entries;
}

function changedPaths(before: Map<string, string>, now: Map<string, string>): string[] {
  const changed = [...now].filter(([path, state]) => before.get(path) !== state).map(([path]) => path);
  return [...changed, ...[...before.keys()].filter((path) => !now.has(path))].sort();
}

/** The markers (original paths) of the files at `paths` that were copied or moved, not written anew. */
function markersIn(dir: string, paths: string[]): string[] {
  const found: string[] = [];
  for (const path of paths) {
    try {
      const text = readFileSync(join(dir, path), 'utf8');
      if (text.startsWith(MARKER)) found.push(text.slice(MARKER.length));
    } catch {
      // Removed, or a folder.
    }
  }
  return found;
}

// ---- one case -------------------------------------------------------------------------------------

function rawRequest(request: HostileRequest, pair: Pair, token: string, id: string): Buffer {
  const port = pair.host.split(':')[1]!;
  const fill = (text: string) => text.replaceAll('{host}', pair.host).replaceAll('{port}', port);
  const body = request.method === 'PUT' ? 'x' : '';
  const lines = [
    `${fill(request.method)} ${fill(request.target)} HTTP/1.1`,
    ...(request.ownHost === false ? [] : [`Host: ${pair.host}`]),
    ...request.headers.map(([name, value]) => `${name}: ${fill(value)}`),
    `Authorization: Bearer ${token}`,
    `${CASE_HEADER}: ${id}`,
    `Content-Length: ${body.length}`,
    'Connection: close',
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

/**
 * Sends `bytes` on a connection of its own; the status (0 when the server closed or reset the
 * connection without one: nginx resets one whose headers are too long) and what came back.
 */
function send(port: number, bytes: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    // Guards against a server that never answers; a healthy one answers in milliseconds.
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
  });
}

const inScope = (path: string) => path === '/a' || path.startsWith('/a/');
/** `folder` is one of the folders above `path`. */
const above = (folder: string, path: string | undefined) => path?.startsWith(`${folder}/`) ?? false;
/** `path` is `checked` or inside it. */
const within = (checked: string | undefined, path: string) => {
  if (checked === undefined) return false;
  const base = checked.replace(/\/$/, '');
  return path === base || path.startsWith(`${base}/`);
};

/** Runs one case through `pair`; what went wrong, or null. */
async function runCase(
  pair: Pair,
  request: HostileRequest,
  token: string,
  writable: boolean,
  tally: Tally,
): Promise<string | null> {
  const id = String(nextCase++);
  const bytes = rawRequest(request, pair, token, id);
  const before = snapshot(pair.dir);
  const answer = await send(pair.proxy.port, bytes);
  const changed = changedPaths(before, snapshot(pair.dir));
  const decision = decisions.get(id);
  decisions.delete(id);
  const allowed = decision !== undefined && decision.status >= 200 && decision.status < 300;
  const problems: string[] = [];
  if (
    allowed &&
    (!inScope(decision.path ?? '') || (decision.destination !== undefined && !inScope(decision.destination)))
  ) {
    problems.push('forward auth allowed a path out of the scope');
  }
  if (changed.length > 0 && !allowed)
    problems.push('the tree changed although forward auth did not allow the request');
  if (changed.length > 0 && !writable) problems.push('a read-only token changed the tree');
  for (const path of changed) {
    // A folder made on the way to the destination (nginx's dav module makes them) is on its path.
    const madeOnTheWay =
      !before.has(path) && (above(path, decision?.destination) || above(path, decision?.path));
    if (!inScope(path)) problems.push(`changed out of the scope: ${path}`);
    else if (
      allowed &&
      !within(decision.path, path) &&
      !within(decision.destination, path) &&
      !madeOnTheWay
    ) {
      problems.push(`changed ${path}, which forward auth did not check`);
    }
  }
  // A file copied or moved: the upstream read the source forward auth checked, and nothing else.
  for (const source of markersIn(pair.dir, changed)) {
    if (!allowed || !within(decision.path, source))
      problems.push(`copied from ${source}, which forward auth did not check`);
  }
  // A file's content in the answer: the upstream read it, and forward auth must have checked it.
  for (const match of answer.text.matchAll(/marker:(\/[^\s<"]*)/g)) {
    if (!allowed || !within(decision.path, match[1]!)) problems.push(`answered the content of ${match[1]}`);
  }
  if (allowed) tally.allowed++;
  if (changed.length > 0) {
    tally.changed++;
    resetTree(pair.dir);
  }
  if (problems.length === 0) return null;
  return [
    `${pair.name}: ${problems.join('; ')}`,
    `request: ${JSON.stringify(bytes.toString('utf8').replace(token, '<token>'))}`,
    `answer: ${answer.status}; forward auth: ${JSON.stringify(decision ?? 'not asked')}; changed: ${JSON.stringify(changed)}`,
  ].join('\n');
}

describe('forward auth reads each header as the servers behind the proxy do (differential)', () => {
  const tokens = new TokenService({ store: new MemoryTokenStore() });
  let auth: Awaited<ReturnType<typeof startAuth>>;
  const pairs: Pair[] = [];
  const servers: OwnedServer[] = [];

  before(async () => {
    auth = await startAuth(tokens);
    // Each proxy gets upstreams of its own, so that the four pairs run their cases side by side.
    const rclones = await Promise.all([1, 2].map(() => startRcloneWebdav(['--dir-cache-time', '0s'])));
    const davDirs = [1, 2].map(() => ownedTempDir('nginx-dav'));
    const davs = await Promise.all(davDirs.map(startNginxDav));
    const upstreams = [
      { kind: 'rclone', server: rclones[0]!, dir: rclones[0]!.dir, proxy: startNginx },
      { kind: 'nginx dav', server: davs[0]!, dir: davDirs[0]!, proxy: startNginx },
      { kind: 'rclone', server: rclones[1]!, dir: rclones[1]!.dir, proxy: startCaddy },
      { kind: 'nginx dav', server: davs[1]!, dir: davDirs[1]!, proxy: startCaddy },
    ];
    servers.push(...rclones, ...davs);
    for (const upstream of upstreams) {
      const proxy = await upstream.proxy({ auth: auth.port, upstream: upstream.server.port });
      servers.push(proxy);
      resetTree(upstream.dir);
      const proxyName = upstream.proxy === startNginx ? 'nginx' : 'Caddy';
      pairs.push({
        name: `${proxyName} → ${upstream.kind}`,
        proxy,
        dir: upstream.dir,
        host: `127.0.0.1:${proxy.port}`,
      });
    }
  });

  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await auth?.stop();
  });

  test('COPY and MOVE inside the scope work through both proxies, to an absolute URI on the host or a path', async () => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:a:rw'] });
    for (const pair of pairs) {
      for (const [verb, destination, created] of [
        ['COPY', 'http://{host}/a/copy-uri.txt', '/a/copy-uri.txt'],
        ['COPY', '/a/copy-path.txt', '/a/copy-path.txt'],
        ['MOVE', 'http://{host}/a/sub/moved.txt', '/a/sub/moved.txt'],
      ] as const) {
        const request: HostileRequest = {
          method: verb,
          target: '/a/k.txt',
          headers: [['Destination', destination]],
        };
        const answer = await send(pair.proxy.port, rawRequest(request, pair, token, String(nextCase++)));
        // nginx's dav module answers 204 where rclone answers 201.
        assert.ok([201, 204].includes(answer.status), `${pair.name} ${verb} ${destination}: ${answer.text}`);
        assert.equal(readFileSync(join(pair.dir, created), 'utf8'), `${MARKER}/a/k.txt`, pair.name);
        resetTree(pair.dir);
      }
    }
  });

  for (const suite of SUITES) {
    test(`${suite.header}: ${RUNS} hostile values through nginx and Caddy to rclone and nginx's dav module`, async (t) => {
      const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: [suite.scope] });
      const writable = suite.scope.endsWith('w');
      const tally: Tally = { allowed: 0, changed: 0 };
      const started = process.hrtime.bigint();
      // Settled, not raced: a failing pair's shrinking must not outlive the servers of the others.
      const results = await Promise.allSettled(
        pairs.map((pair) =>
          fc.assert(
            fc.asyncProperty(suite.cases, async (request) => {
              const problem = await runCase(pair, request, token, writable, tally);
              assert.equal(problem, null, problem ?? '');
            }),
            { numRuns: RUNS, examples: suite.known.map((request): [HostileRequest] => [request]) },
          ),
        ),
      );
      const failure = results.find((result) => result.status === 'rejected');
      if (failure) throw failure.reason;
      // Cases that reached the upstream and wrote there: without them the oracle would prove nothing.
      assert.ok(tally.allowed >= RUNS / 20, JSON.stringify(tally));
      if (writable) assert.ok(tally.changed >= RUNS / 20, JSON.stringify(tally));
      t.diagnostic(`allowed by forward auth ${tally.allowed}, tree changed ${tally.changed}`);
      t.diagnostic(`${pairs.length} × ${RUNS} cases in ${Number(process.hrtime.bigint() - started) / 1e9} s`);
    });
  }
});
