// Server 2: Express + one raw ioredis GET per request. The floor of any Redis-backed check: take the
// Bearer token as it comes, one round trip, no hashing, no expiry. The timed figures are ratios to it.
import express from 'express';
import { Redis } from 'ioredis';
import { LOGIN_KEY_PREFIX, ROUTE, serve, storeAddress } from './serve';

const redis = new Redis(storeAddress('REDIS_URL'));
const app = express();
app.get(ROUTE, async (req, res) => {
  const header = req.headers.authorization;
  const login = header?.startsWith('Bearer ') ? await redis.get(LOGIN_KEY_PREFIX + header.slice(7)) : null;
  if (login === null) {
    res.status(401).json({ error: 'invalid_token' });
    return;
  }
  res.json({ user: login });
});

serve(app, redis.ping());
