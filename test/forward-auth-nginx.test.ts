// nginx auth_request (configured with docs/forward-auth.md's block) in front of `rclone serve webdav`,
// with forwardAuth() mounted in this process on the memory store.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import express, { type RequestHandler } from 'express';
import { MemoryTokenStore } from '../adapters/memory';
import { forwardAuth, TokenService } from '../lib/index';
import { byFirstSegment, describeForwardAuthThrough } from './support/forward-auth-e2e';
import { startNginx } from './support/reverse-proxy';
import { unavailableStore } from './support/unavailable-store';
import { curl, statusOf } from './support/webdav-clients';

const tokens = new TokenService({ store: new MemoryTokenStore() });
let handler: RequestHandler = forwardAuth({ tokens, resolveNode: byFirstSegment });

describeForwardAuthThrough({
  proxy: 'nginx auth_request',
  auth: 'in-process forwardAuth(), memory store',
  async startAuth() {
    const app = express();
    app.set('trust proxy', 'loopback');
    // Through a variable, so that a test can put a forwardAuth() on a failing store in its place.
    app.use('/auth', (req, res, next) => handler(req, res, next));
    const server = await new Promise<Server>((ready) => {
      const listening = app.listen(0, '127.0.0.1', () => ready(listening));
    });
    return {
      tokens,
      port: (server.address() as AddressInfo).port,
      stop: () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
    };
  },
  startProxy: startNginx,
  more(servers) {
    test('a store that is down gives 503 with Retry-After through nginx, never a pass', async () => {
      const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
      const down = unavailableStore();
      const previous = handler;
      handler = forwardAuth({ tokens: new TokenService({ store: down, timeout: 200 }), retryAfter: 3 });
      try {
        const res = await curl(
          '-H',
          `Authorization: Bearer ${token}`,
          `${servers().proxy.url}/docs/readme.txt`,
        );
        assert.equal(statusOf(res.stdout), 503, res.stdout);
        assert.match(res.stdout, /^Retry-After: 3\r$/m);
      } finally {
        handler = previous;
      }
    });
  },
});
