// Server 6: server 3 with the in-process cache on. A token this process checked answers from memory
// until its entry's limit: `maxStale`, or when its lastUsedAt is due to be written again (after
// `touchInterval`). Loaded with hard-limit tokens: a sliding one goes back to Redis every second it
// is used, to push its expiry. Under `hot` (10,000 tokens, each used about once a second) fewer than
// 0.02 commands per request needs entries that live 100 s or more, hence 5 minutes for both here
// (CACHE_MAX_STALE, TOUCH_INTERVAL ms, CACHE_MAX_ENTRIES override them).
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import { Redis } from 'ioredis';
import { personalTokenAuth, TokenService } from 'personal-token-auth';
import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
import { checkTimeout, ROUTE, serve, storeAddress } from './serve';

const redis = new Redis(storeAddress('REDIS_URL'));
const store = new RedisTokenStore(redis);
// The cache answers only once its invalidation channel is subscribed: until then every check would go
// to Redis, and the warm-up would fill nothing. Ready when this process' subscription shows.
const subscribers = async () =>
  Number(((await redis.pubsub('NUMSUB', `${store.prefix}invalidated`)) as [string, number])[1]);
const others = subscribers();

const app = express();
async function ready() {
  const tokens = new TokenService({
    store,
    timeout: checkTimeout(),
    touchInterval: Number(process.env.TOUCH_INTERVAL ?? 300_000),
    cache: {
      maxStale: process.env.CACHE_MAX_STALE ?? '5m',
      maxEntries: Number(process.env.CACHE_MAX_ENTRIES ?? 10_000),
    },
  });
  app.get(ROUTE, personalTokenAuth({ tokens }), (req, res) => {
    res.json({ user: req.authInfo?.login });
  });
  // Bounded by the harness' deadline for a server to start.
  while ((await subscribers()) <= (await others)) await delay(20);
}

serve(app, others.then(ready));
