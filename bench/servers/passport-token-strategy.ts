// Server 8 (optional): the library's own BearerTokenStrategy run the way apps that already use passport
// would, behind passport.initialize() + passport.authenticate(). Same tokens, same lookup as server 3:
// the difference is what passport's per-request machinery costs, and why personalTokenAuth() does
// without it.
import express from 'express';
import { Redis } from 'ioredis';
import passport from 'passport';
import { BearerTokenStrategy, TokenService } from 'personal-token-auth';
import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
import { ROUTE, serve, storeAddress } from './serve';

const redis = new Redis(storeAddress('REDIS_URL'));
passport.use(new BearerTokenStrategy({ tokens: new TokenService({ store: new RedisTokenStore(redis) }) }));

const app = express();
app.use(passport.initialize());
app.get(ROUTE, passport.authenticate('bearer', { session: false }), (req, res) => {
  res.json({ user: req.authInfo?.login });
});

serve(app, redis.ping());
