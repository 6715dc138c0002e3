// The library with its in-process cache on (`cache` option of TokenService): the same middleware as
// servers 3 and 4, but a token this process checked within `maxStale` costs no Redis command. The
// hot workload needs a long `maxStale` (CACHE_MAX_STALE, default 60s): a token used about once a
// second must stay cached for 50 s or more for fewer than 0.02 commands per request. An entry also
// goes back to Redis when its lastUsedAt is due to be written (TOUCH_INTERVAL, default 60 s).
import express from 'express';
import { personalTokenAuth, TokenService } from 'personal-token-auth';
import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
import { ROUTE } from '../keys';
import { benchRedis, serve } from './serve';

const redis = benchRedis();
const tokens = new TokenService({
  store: new RedisTokenStore(redis),
  touchInterval: Number(process.env.TOUCH_INTERVAL ?? 60_000),
  cache: {
    maxStale: process.env.CACHE_MAX_STALE ?? '60s',
    maxEntries: Number(process.env.CACHE_MAX_ENTRIES ?? 10_000),
  },
});
const auth = personalTokenAuth({ tokens });

const app = express();
app.get(ROUTE, auth, (req, res) => {
  res.json({ user: req.authInfo?.login });
});

serve(app, redis);
