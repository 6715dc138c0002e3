// Server 2: Express + one raw ioredis GET per request. The floor of any Redis-backed check: take the
// Bearer token as it comes, one round trip, no hashing, no expiry. Every figure is a ratio to this.
import express from 'express';
import { RAW_KEY_PREFIX, ROUTE } from '../keys';
import { benchRedis, serve } from './serve';

const redis = benchRedis();
const app = express();
app.get(ROUTE, async (req, res) => {
  const header = req.headers.authorization;
  const login = header?.startsWith('Bearer ') ? await redis.get(RAW_KEY_PREFIX + header.slice(7)) : null;
  if (login === null) {
    res.status(401).json({ error: 'invalid_token' });
    return;
  }
  res.json({ user: login });
});

serve(app, redis);
