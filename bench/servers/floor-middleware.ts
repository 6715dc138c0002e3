// Server 9: the floor (server 2) written as a middleware, the shape of every auth middleware: one raw
// GET, `req.user` and `req.authInfo` set, then `next()` to the route's handler. What it costs over
// server 2 is what any middleware pays before it checks anything (a second handler, two properties
// added to an Express request), so the library's instruction counts are held against this one.
import express from 'express';
import { Redis } from 'ioredis';
import { LOGIN_KEY_PREFIX, ROUTE, serve, storeAddress } from './serve';

const redis = new Redis(storeAddress('REDIS_URL'));
const app = express();
app.get(
  ROUTE,
  (req, res, next) => {
    const header = req.headers.authorization;
    if (!header?.startsWith('Bearer ')) {
      res.status(401).json({ error: 'invalid_token' });
      return;
    }
    redis.get(LOGIN_KEY_PREFIX + header.slice(7)).then((login) => {
      if (login === null) {
        res.status(401).json({ error: 'invalid_token' });
        return;
      }
      req.user = { login };
      req.authInfo = { login };
      next();
    }, next);
  },
  (req, res) => {
    res.json({ user: (req.authInfo as { login: string }).login });
  },
);

serve(app, redis.ping());
