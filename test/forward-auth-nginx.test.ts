// nginx auth_request in front of `rclone serve webdav`, with forwardAuth() in this process on the
// memory store, and nginx configured with docs/forward-auth.md's block. Driven by rclone and litmus
// (token as the Basic password) and curl (Bearer).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express, { type RequestHandler } from 'express';
import { MemoryTokenStore } from '../adapters/memory';
import { forwardAuth, type ResolveNode, TokenService, type TokenStore } from '../lib/index';
import {
  curl,
  litmusResults,
  type OwnedServer,
  rcloneClient,
  runLitmus,
  startEchoServer,
  startNginx,
  startRcloneWebdav,
  statusOf,
  tempDir,
} from './support/reverse-proxy';

// The first path segment is the folder's node id; reads need r, COPY reads its source, the rest w.
const READS = new Set(['GET', 'HEAD', 'PROPFIND', 'OPTIONS', 'COPY']);
const byFirstSegment: ResolveNode = (method, path) => {
  const folder = path.split('/')[1];
  return folder ? { nodeId: folder, permission: READS.has(method) ? 'r' : 'w' } : null;
};

describe('forward auth through nginx auth_request (in-process auth server, memory store)', () => {
  const tokens = new TokenService({ store: new MemoryTokenStore() });
  let handler: RequestHandler = forwardAuth({ tokens, resolveNode: byFirstSegment });
  let auth: Server;
  let webdav: OwnedServer & { dir: string };
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let nginx: OwnedServer;
  let nginxEcho: OwnedServer;

  before(async () => {
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use('/auth', (req, res, next) => handler(req, res, next));
    auth = await new Promise<Server>((ready) => {
      const server = app.listen(0, '127.0.0.1', () => ready(server));
    });
    const authPort = (auth.address() as AddressInfo).port;
    [webdav, echo] = await Promise.all([startRcloneWebdav(), startEchoServer()]);
    [nginx, nginxEcho] = await Promise.all([
      startNginx({ auth: authPort, upstream: webdav.port }),
      startNginx({ auth: authPort, upstream: echo.port }),
    ]);
  });

  after(async () => {
    await Promise.all([nginx?.stop(), nginxEcho?.stop(), webdav?.stop(), echo?.close()]);
    auth?.closeAllConnections();
    await new Promise((done) => auth?.close(done));
  });

  test('curl with Bearer: writes and reads; no token gets the Basic challenge first; a wrong one 401', async () => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const bearer = `Authorization: Bearer ${token}`;
    const put = await curl(
      '-X',
      'PUT',
      '--data-binary',
      'via nginx',
      '-H',
      bearer,
      `${nginx.url}/inbox/curl.txt`,
    );
    assert.equal(statusOf(put.stdout), 201, put.stdout);
    const get = await curl('-H', bearer, `${nginx.url}/inbox/curl.txt`);
    assert.equal(statusOf(get.stdout), 200, get.stdout);
    assert.ok(get.stdout.endsWith('via nginx'));
    const anonymous = await curl(`${nginx.url}/docs/readme.txt`);
    assert.equal(statusOf(anonymous.stdout), 401);
    assert.match(anonymous.stdout, /^WWW-Authenticate: Basic realm="Users", charset="UTF-8"\r$/m);
    const wrong = await curl(
      '-H',
      `Authorization: Bearer ${token.slice(0, -2)}xx`,
      `${nginx.url}/docs/readme.txt`,
    );
    assert.equal(statusOf(wrong.stdout), 401);
  });

  test('a revoked token is refused at once', async () => {
    const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const read = () => curl('-H', `Authorization: Bearer ${issued.token}`, `${nginx.url}/docs/readme.txt`);
    assert.equal(statusOf((await read()).stdout), 200);
    await tokens.revoke(issued.id);
    assert.equal(statusOf((await read()).stdout), 401);
  });

  test('rclone as a client, the token as its Basic password: copy up, check, list, delete', async () => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const rclone = await rcloneClient(nginx.url, 'admin', token);
    const local = tempDir('rclone-local');
    mkdirSync(join(local, 'sub'));
    writeFileSync(join(local, 'a.txt'), 'alpha\n');
    writeFileSync(join(local, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
    try {
      const copy = await rclone.run('copy', local, 'dav:inbox/rclone');
      assert.equal(copy.code, 0, copy.stderr);
      const check = await rclone.run('check', local, 'dav:inbox/rclone');
      assert.equal(check.code, 0, check.stderr);
      const list = await rclone.run('lsf', '-R', 'dav:inbox/rclone');
      assert.deepEqual(list.stdout.trim().split('\n').sort(), ['a.txt', 'sub/', 'sub/b.bin']);
      assert.equal(readFileSync(join(webdav.dir, 'inbox', 'rclone', 'a.txt'), 'utf8'), 'alpha\n');
      const purge = await rclone.run('purge', 'dav:inbox/rclone');
      assert.equal(purge.code, 0, purge.stderr);
      assert.ok(!existsSync(join(webdav.dir, 'inbox', 'rclone')));
    } finally {
      rclone.dispose();
    }
  });

  test('litmus basic and copymove: the same results through nginx as against rclone directly', async (t) => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    for (const suite of ['basic', 'copymove']) {
      const proxied = litmusResults(
        (await runLitmus(`${nginx.url}/litmus-root/`, 'admin', token, suite)).stdout,
      );
      const direct = litmusResults(
        (await runLitmus(`${webdav.url}/litmus-root/`, 'admin', token, suite)).stdout,
      );
      t.diagnostic(`through nginx ${proxied.summary.join(' ')}; rclone directly ${direct.summary.join(' ')}`);
      assert.ok(Object.keys(proxied.results).length >= 10, proxied.summary.join());
      assert.deepEqual(proxied.results, direct.results);
      // rclone 1.60 answers 201 to a MKCOL on an existing collection: its own defect, not the proxy's.
      const failed = Object.keys(proxied.results).filter((name) => proxied.results[name] !== 'pass');
      assert.deepEqual(failed, suite === 'basic' ? ['mkcol_again'] : []);
    }
  });

  test('a read-only scoped token reads its folder and cannot write through the proxy', async () => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
    const rclone = await rcloneClient(nginx.url, 'admin', token);
    const local = tempDir('rclone-readonly');
    writeFileSync(join(local, 'new.txt'), 'no\n');
    try {
      const list = await rclone.run('lsf', 'dav:docs');
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(list.stdout.trim().split('\n'), ['readme.txt']);
      const write = await rclone.run('copy', local, 'dav:docs');
      assert.notEqual(write.code, 0);
      assert.ok(!existsSync(join(webdav.dir, 'docs', 'new.txt')));
      const bearer = `Authorization: Bearer ${token}`;
      const put = await curl('-X', 'PUT', '--data-binary', 'x', '-H', bearer, `${nginx.url}/docs/new.txt`);
      assert.equal(statusOf(put.stdout), 403);
      const elsewhere = await curl('-H', bearer, `${nginx.url}/inbox/`);
      assert.equal(statusOf(elsewhere.stdout), 403);
      // COPY reads docs but writes into inbox: refused, nothing copied.
      const copy = await curl(
        '-X',
        'COPY',
        '-H',
        bearer,
        '-H',
        `Destination: ${nginx.url}/inbox/stolen.txt`,
        `${nginx.url}/docs/readme.txt`,
      );
      assert.equal(statusOf(copy.stdout), 403);
      assert.ok(!existsSync(join(webdav.dir, 'inbox', 'stolen.txt')));
      // An encoded slash cannot be read without ambiguity: 400 through nginx, not 500.
      const encoded = await curl('-H', bearer, `${nginx.url}/docs/..%2Finbox/`);
      assert.equal(statusOf(encoded.stdout), 400);
    } finally {
      rclone.dispose();
    }
  });

  test("identity headers a client sends never reach the upstream; the token's do, the token does not", async () => {
    const alice = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const forged = [
      '-H',
      'X-Auth-User: admin',
      '-H',
      'X-Auth-Scopes: node:all:rw',
      '-H',
      'X-Auth-Token-Id: 0',
    ];
    const before = echo.requests.length;
    const anonymous = await curl(...forged, `${nginxEcho.url}/x`);
    assert.equal(statusOf(anonymous.stdout), 401);
    assert.equal(echo.requests.length, before, 'a refused request never reaches the upstream');
    const res = await curl(...forged, '-H', `Authorization: Bearer ${alice.token}`, `${nginxEcho.url}/x`);
    assert.equal(statusOf(res.stdout), 200, res.stdout);
    const seen = echo.requests.at(-1)!;
    assert.equal(seen['x-auth-user'], 'alice');
    assert.equal(seen['x-auth-token-id'], alice.id);
    assert.equal(seen['x-auth-scopes'], undefined);
    assert.equal(seen.authorization, undefined);
  });

  test('a store that is down gives 503 with Retry-After through nginx, never a pass', async () => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    const down: TokenStore = {
      create: async () => true,
      verify: () => Promise.reject(new Error('connect ECONNREFUSED')),
      get: async () => null,
      listByUser: async () => [],
      delete: async () => null,
      deleteByUser: async () => [],
      limit: async () => false,
    };
    const previous = handler;
    handler = forwardAuth({ tokens: new TokenService({ store: down, timeout: 200 }), retryAfter: 3 });
    try {
      const res = await curl('-H', `Authorization: Bearer ${token}`, `${nginx.url}/docs/readme.txt`);
      assert.equal(statusOf(res.stdout), 503, res.stdout);
      assert.match(res.stdout, /^Retry-After: 3\r$/m);
    } finally {
      handler = previous;
    }
  });
});
