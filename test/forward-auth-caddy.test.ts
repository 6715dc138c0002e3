// Caddy forward_auth (configured with docs/forward-auth.md's block) in front of `rclone serve webdav`,
// with the real CLI `personal-token serve-auth` as the auth server, on the local Redis.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RedisTokenStore } from '../adapters/redis';
import { TokenService } from '../lib/index';
import { describeForwardAuthThrough } from './support/forward-auth-e2e';
import { ownedTempDir } from './support/owned-processes';
import { connectTestRedis, deleteKeys, TEST_REDIS_URL, uniquePrefix } from './support/redis';
import { type OwnedServer, startCaddy, startServeAuth, stopChild } from './support/reverse-proxy';

// The same mapping as byFirstSegment, as an app's config file gives it to serve-auth.
const CONFIG = `const READS = new Set(['GET', 'HEAD', 'PROPFIND', 'OPTIONS', 'COPY']);
export const resolveNode = (method, path) => {
  const folder = path.split('/')[1];
  return folder ? { nodeId: folder, permission: READS.has(method) ? 'r' : 'w' } : null;
};
`;

let serveAuth: OwnedServer;

describeForwardAuthThrough({
  proxy: 'Caddy forward_auth',
  auth: 'personal-token serve-auth, Redis',
  async startAuth() {
    const prefix = uniquePrefix('forward-auth');
    const redis = connectTestRedis();
    const tokens = new TokenService({ store: new RedisTokenStore(redis, { prefix }) });
    const dir = ownedTempDir('serve-auth');
    writeFileSync(join(dir, 'personal-token.config.mjs'), CONFIG);
    serveAuth = await startServeAuth(['--redis', TEST_REDIS_URL, '--prefix', prefix], dir);
    return {
      tokens,
      port: serveAuth.port,
      async stop() {
        await stopChild(serveAuth.child);
        await deleteKeys(redis, prefix);
        redis.disconnect();
      },
    };
  },
  startProxy: startCaddy,
  more(servers) {
    test('serve-auth says where it listens, and stops cleanly on SIGTERM', async () => {
      assert.match(
        serveAuth.output(),
        new RegExp(`listening on http://127\\.0\\.0\\.1:${servers().auth.port}/auth \\(tokens in Redis at `),
      );
      await stopChild(serveAuth.child);
      assert.equal(serveAuth.child.exitCode, 0, serveAuth.output());
      assert.match(serveAuth.output(), /SIGTERM, stopping/);
    });
  },
});
