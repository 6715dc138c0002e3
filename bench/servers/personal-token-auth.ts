// Servers 3 and 4: the library as an app uses it, `personalTokenAuth()` over a RedisTokenStore with its
// defaults (Bearer and Basic both accepted). The harness starts this file twice: server 3 is loaded
// with `Authorization: Bearer <token>`, server 4 with `Basic base64(login:token)`. The seeded tokens
// are sliding ones, so every request also pushes the expiry.
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
app.get(ROUTE, auth, (req, res) => {
  res.json({ user: req.authInfo?.login });
});

serve(app, redis.ping());
