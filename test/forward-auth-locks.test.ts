// What forward auth cannot see: a lock token names no path. Through the docs' nginx to rclone (Go's
// x/net/webdav, which numbers lock tokens in sequence and unlocks by token whatever the path), a token
// scoped to /a removes another user's lock on /secret; a resolveNode that lets only unscoped tokens
// lock and unlock, as docs/forward-auth.md says, refuses it.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { MemoryTokenStore } from '../adapters/memory';
import { forwardAuth, type ResolveNode, TokenService } from '../lib/index';
import { byFirstSegment } from './support/forward-auth-e2e';
import { type OwnedServer, startNginx, startRcloneWebdav } from './support/reverse-proxy';

const LOCK_BODY =
  '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>' +
  '<D:locktype><D:write/></D:locktype><D:owner>someone</D:owner></D:lockinfo>';

const lockingOnlyUnscoped: ResolveNode = (method, path) =>
  method === 'LOCK' || method === 'UNLOCK' ? null : byFirstSegment(method, path);

for (const [mapping, resolveNode, unlocks] of [
  ['a path-only mapping', byFirstSegment, true],
  ['a mapping that leaves locks to unscoped tokens', lockingOnlyUnscoped, false],
] as const) {
  describe(`forward auth with ${mapping}, nginx → rclone: another user's lock`, () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    let auth: Server;
    let rclone: OwnedServer & { dir: string };
    let proxy: OwnedServer;

    before(async () => {
      const app = express();
      app.set('trust proxy', 'loopback');
      app.use('/auth', forwardAuth({ tokens, resolveNode }));
      auth = app.listen(0, '127.0.0.1');
      await new Promise((ready) => auth.once('listening', ready));
      rclone = await startRcloneWebdav();
      for (const folder of ['a', 'secret']) mkdirSync(join(rclone.dir, folder));
      writeFileSync(join(rclone.dir, 'a', 'k.txt'), 'k');
      writeFileSync(join(rclone.dir, 'secret', 'x.txt'), 'x');
      proxy = await startNginx({ auth: (auth.address() as AddressInfo).port, upstream: rclone.port });
    });
    after(async () => {
      await proxy?.stop();
      await rclone?.stop();
      auth?.closeAllConnections();
      await new Promise((done) => auth?.close(done));
    });

    const send = (method: string, path: string, token: string, headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${proxy.port}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...headers },
        body: method === 'LOCK' ? LOCK_BODY : method === 'PUT' ? 'changed' : undefined,
      });
    const lock = async (path: string, token: string) => {
      const res = await send('LOCK', path, token, { Timeout: 'Second-600' });
      return { status: res.status, lockToken: res.headers.get('lock-token') };
    };

    test(
      unlocks
        ? 'a token scoped to /a removes it by its number'
        : 'a token scoped to /a cannot lock or unlock',
      async () => {
        const owner = (await tokens.issue({ user: 'owner', expiresIn: '1h' })).token;
        const scoped = (await tokens.issue({ user: 'mallory', expiresIn: '1h', scopes: ['node:a:rw'] }))
          .token;
        const held = await lock('/secret/x.txt', owner);
        assert.equal(held.status, 200);
        assert.equal((await send('PUT', '/secret/x.txt', owner)).status, 423, 'the lock holds off a PUT');

        const own = await lock('/a/k.txt', scoped);
        const unlock = await send('UNLOCK', '/a/k.txt', scoped, { 'Lock-Token': held.lockToken! });
        if (unlocks) {
          // The scoped token's own lock is the next number: the owner's is one below.
          assert.equal(own.status, 200);
          assert.equal(Number(/\d+/.exec(own.lockToken!)![0]) - 1, Number(/\d+/.exec(held.lockToken!)![0]));
          assert.equal(unlock.status, 204);
          assert.equal((await send('PUT', '/secret/x.txt', owner)).status, 201, 'the lock is gone');
        } else {
          assert.equal(own.status, 403);
          assert.equal(unlock.status, 403);
          assert.equal((await send('PUT', '/secret/x.txt', owner)).status, 423, 'the lock still holds');
        }
      },
    );
  });
}
