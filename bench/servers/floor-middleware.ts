// Server 9 (`--with-baselines`): the floor (server 2) written as a middleware, the shape of every
// auth middleware: one raw GET, `req.user` and `req.authInfo` set, then `next()` to the route's
// handler. What it costs over server 2 is what any middleware pays before it checks anything: the
// second handler, and two new properties on an Express request (each a new hidden class).
import express from 'express';
import { RAW_KEY_PREFIX, ROUTE } from '../keys';
import { benchRedis, serve } from './serve';

const redis = benchRedis();
const app = express();
app.get(
  ROUTE,
  (req, res, next) => {
    const header = req.headers.authorization;
    if (!header?.startsWith('Bearer ')) {
      res.status(401).json({ error: 'invalid_token' });
      return;
    }
    redis.get(RAW_KEY_PREFIX + header.slice(7)).then((login) => {
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

serve(app, redis);
