// The end-to-end suite every proxy runs: a proxy configured with docs/forward-auth.md's block in front
// of `rclone serve webdav` (and of a header-echoing upstream), driven by curl (Bearer), rclone and
// litmus (the token as the Basic password). Not a test file itself: the proxies' test files call it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ResolveNode, TokenService } from '../../lib/index';
import { ownedTempDir } from './owned-processes';
import { type OwnedServer, type ProxyAddresses, startEchoServer, startRcloneWebdav } from './reverse-proxy';
import { curl, litmusResults, rcloneClient, runLitmus, statusOf } from './webdav-clients';

// The first path segment is the folder's node id; reads need r, COPY reads its source, the rest w.
const READS = new Set(['GET', 'HEAD', 'PROPFIND', 'OPTIONS', 'COPY']);
export const byFirstSegment: ResolveNode = (method, path) => {
  const folder = path.split('/')[1];
  return folder ? { nodeId: folder, permission: READS.has(method) ? 'r' : 'w' } : null;
};

/** The token with its last character changed: the checksum no longer matches. */
export function tampered(token: string): string {
  return token.slice(0, -1) + (token.endsWith('x') ? 'y' : 'x');
}

export interface AuthServerUnderTest {
  tokens: TokenService;
  port: number;
  stop(): Promise<void>;
}

export interface ProxySuiteServers {
  tokens: TokenService;
  proxy: OwnedServer;
  auth: AuthServerUnderTest;
}

export interface ProxySuite {
  /** e.g. `nginx auth_request`. */
  proxy: string;
  /** How the auth server runs, e.g. `in-process forwardAuth(), memory store`. */
  auth: string;
  startAuth(): Promise<AuthServerUnderTest>;
  startProxy(addresses: ProxyAddresses): Promise<OwnedServer>;
  /** More tests of this proxy, in the same describe(), with the running servers. */
  more?(servers: () => ProxySuiteServers): void;
}

export function describeForwardAuthThrough(suite: ProxySuite): void {
  describe(`forward auth through ${suite.proxy} (${suite.auth})`, () => {
    let tokens: TokenService;
    let auth: AuthServerUnderTest;
    let webdav: OwnedServer & { dir: string };
    let echo: Awaited<ReturnType<typeof startEchoServer>>;
    let proxy: OwnedServer;
    let proxyEcho: OwnedServer;

    before(async () => {
      [auth, webdav, echo] = await Promise.all([suite.startAuth(), startRcloneWebdav(), startEchoServer()]);
      tokens = auth.tokens;
      [proxy, proxyEcho] = await Promise.all([
        suite.startProxy({ auth: auth.port, upstream: webdav.port }),
        suite.startProxy({ auth: auth.port, upstream: echo.port }),
      ]);
    });

    after(async () => {
      await Promise.all([proxy?.stop(), proxyEcho?.stop(), webdav?.stop(), echo?.close()]);
      await auth?.stop();
    });

    test('curl with Bearer: writes and reads; no token gets the Basic challenge first; a wrong one 401', async () => {
      const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const bearer = `Authorization: Bearer ${token}`;
      const put = await curl(
        '-X',
        'PUT',
        '--data-binary',
        'via the proxy',
        '-H',
        bearer,
        `${proxy.url}/inbox/curl.txt`,
      );
      assert.equal(statusOf(put.stdout), 201, put.stdout);
      const get = await curl('-H', bearer, `${proxy.url}/inbox/curl.txt`);
      assert.equal(statusOf(get.stdout), 200, get.stdout);
      assert.ok(get.stdout.endsWith('via the proxy'));
      const anonymous = await curl(`${proxy.url}/docs/readme.txt`);
      assert.equal(statusOf(anonymous.stdout), 401);
      assert.match(anonymous.stdout, /^WWW-Authenticate: Basic realm="Users", charset="UTF-8"\r$/im);
      const wrong = await curl(
        '-H',
        `Authorization: Bearer ${tampered(token)}`,
        `${proxy.url}/docs/readme.txt`,
      );
      assert.equal(statusOf(wrong.stdout), 401);
    });

    test('a revoked token is refused at once', async () => {
      const issued = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const read = () => curl('-H', `Authorization: Bearer ${issued.token}`, `${proxy.url}/docs/readme.txt`);
      assert.equal(statusOf((await read()).stdout), 200);
      await tokens.revoke(issued.id);
      assert.equal(statusOf((await read()).stdout), 401);
    });

    test('rclone as a client, the token as its Basic password: copy up, check, list, delete', async () => {
      const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const rclone = await rcloneClient(proxy.url, 'admin', token);
      const local = ownedTempDir('rclone-local');
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

    test('litmus basic and copymove: the same results through the proxy as against rclone directly', async (t) => {
      const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      for (const litmusSuite of ['basic', 'copymove']) {
        const proxied = litmusResults(
          (await runLitmus(`${proxy.url}/litmus-root/`, 'admin', token, litmusSuite)).stdout,
        );
        const direct = litmusResults(
          (await runLitmus(`${webdav.url}/litmus-root/`, 'admin', token, litmusSuite)).stdout,
        );
        t.diagnostic(
          `through ${suite.proxy} ${proxied.summary.join(' ')}; rclone directly ${direct.summary.join(' ')}`,
        );
        assert.ok(Object.keys(proxied.results).length >= 10, proxied.summary.join());
        assert.deepEqual(proxied.results, direct.results);
        // rclone 1.60 answers 201 to a MKCOL on an existing collection: its own defect, not the proxy's.
        const failed = Object.keys(proxied.results).filter((name) => proxied.results[name] !== 'pass');
        assert.deepEqual(failed, litmusSuite === 'basic' ? ['mkcol_again'] : []);
      }
    });

    test('a read-only scoped token reads its folder and cannot write through the proxy', async () => {
      const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
      const rclone = await rcloneClient(proxy.url, 'admin', token);
      const local = ownedTempDir('rclone-readonly');
      writeFileSync(join(local, 'new.txt'), 'no\n');
      try {
        const list = await rclone.run('lsf', 'dav:docs');
        assert.equal(list.code, 0, list.stderr);
        assert.deepEqual(list.stdout.trim().split('\n'), ['readme.txt']);
        const write = await rclone.run('copy', local, 'dav:docs');
        assert.notEqual(write.code, 0);
        assert.ok(!existsSync(join(webdav.dir, 'docs', 'new.txt')));
        const bearer = `Authorization: Bearer ${token}`;
        const put = await curl('-X', 'PUT', '--data-binary', 'x', '-H', bearer, `${proxy.url}/docs/new.txt`);
        assert.equal(statusOf(put.stdout), 403);
        const elsewhere = await curl('-H', bearer, `${proxy.url}/inbox/`);
        assert.equal(statusOf(elsewhere.stdout), 403);
        // COPY reads docs but writes into inbox: refused, nothing copied.
        const copy = await curl(
          '-X',
          'COPY',
          '-H',
          bearer,
          '-H',
          `Destination: ${proxy.url}/inbox/stolen.txt`,
          `${proxy.url}/docs/readme.txt`,
        );
        assert.equal(statusOf(copy.stdout), 403);
        assert.ok(!existsSync(join(webdav.dir, 'inbox', 'stolen.txt')));
        // An encoded slash cannot be read without ambiguity: 400 through the proxy, not 500.
        const encoded = await curl('-H', bearer, `${proxy.url}/docs/..%2Finbox/`);
        assert.equal(statusOf(encoded.stdout), 400);
        // A raw `#` in the request line: nginx passes it on, and upstreams differ on what it means
        // (a Go server cleans `/docs#/../inbox/` to `/inbox/`). Refused, whatever the proxy forwards.
        const fragment = await curl('-H', bearer, '--request-target', '/docs#/../inbox/', `${proxy.url}/`);
        assert.ok([400, 403].includes(statusOf(fragment.stdout)), fragment.stdout);
        // The client's own original-request headers, to pass a write off as a read: the proxy sets
        // one pair, the client's other pair disagrees with it, and the answer is a 400.
        const disguised = ['GET', '/docs/readme.txt'];
        const forged = [
          ...['X-Original-Method', 'X-Forwarded-Method'].flatMap((name) => [
            '-H',
            `${name}: ${disguised[0]}`,
          ]),
          ...['X-Original-URI', 'X-Forwarded-Uri'].flatMap((name) => ['-H', `${name}: ${disguised[1]}`]),
        ];
        const put2 = await curl(
          '-X',
          'PUT',
          '--data-binary',
          'x',
          '-H',
          bearer,
          ...forged,
          `${proxy.url}/docs/new.txt`,
        );
        assert.equal(statusOf(put2.stdout), 400, put2.stdout);
        assert.ok(!existsSync(join(webdav.dir, 'docs', 'new.txt')));
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
      const anonymous = await curl(...forged, `${proxyEcho.url}/x`);
      assert.equal(statusOf(anonymous.stdout), 401);
      assert.equal(echo.requests.length, before, 'a refused request never reaches the upstream');
      const res = await curl(...forged, '-H', `Authorization: Bearer ${alice.token}`, `${proxyEcho.url}/x`);
      assert.equal(statusOf(res.stdout), 200, res.stdout);
      const seen = echo.requests.at(-1)!;
      assert.equal(seen['x-auth-user'], 'alice');
      assert.equal(seen['x-auth-token-id'], alice.id);
      // An unscoped token: empty (Caddy) or no header at all (nginx), never the client's.
      assert.ok(!seen['x-auth-scopes'], String(seen['x-auth-scopes']));
      assert.equal(seen.authorization, undefined);
      const scoped = await tokens.issue({ user: 'alice', expiresIn: '1h', scopes: ['node:x:r'] });
      await curl(...forged, '-H', `Authorization: Bearer ${scoped.token}`, `${proxyEcho.url}/x/y`);
      assert.equal(echo.requests.at(-1)!['x-auth-scopes'], 'node:x:r');
      assert.equal(echo.requests.at(-1)!['x-auth-token-id'], scoped.id);
    });

    suite.more?.(() => ({ tokens, proxy, auth }));
  });
}
