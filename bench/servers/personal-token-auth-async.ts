// Server 12 (optional): server 3's middleware behind an innocent-looking `async` wrapper, as an app or a
// refactor might write it ("await the auth, then go on"). It answers exactly as server 3 does; what it
// adds is a promise, an async function's suspension and resumption and `next()` a microtask later, on
// every request. The hot path's guard (test/hot-path-instructions.test.ts) counts it beside server 3
// and asserts that its own rules catch it: the proof that the guard can fail.
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import { Redis } from 'ioredis';
import { personalTokenAuth, TokenService } from 'personal-token-auth';
import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
import { checkTimeout, ROUTE, serve, storeAddress } from './serve';

const redis = new Redis(storeAddress('REDIS_URL'));
const auth = personalTokenAuth({
  tokens: new TokenService({ store: new RedisTokenStore(redis), timeout: checkTimeout() }),
});

const app = express();
app.get(
  ROUTE,
  async (req: Request, res: Response, next: NextFunction) => {
    const passed = await new Promise<boolean>((resolve, reject) =>
      auth(req, res, (error?: unknown) => (error ? reject(error) : resolve(true))),
    );
    if (passed) next();
  },
  (req, res) => {
    res.json({ user: req.authInfo?.login });
  },
);

serve(app, redis.ping());
