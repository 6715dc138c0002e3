// Optional server 8 (`--with-strategy`): the library's own BearerTokenStrategy run the way apps that
// already use passport would, behind passport.initialize() + passport.authenticate(). Same tokens,
// same lookup as server 3: the difference between the two is what passport's per-request machinery
// costs, and why personalTokenAuth() does not go through it.
import express from 'express';
import passport from 'passport';
import { BearerTokenStrategy, TokenService } from 'personal-token-auth';
import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
import { ROUTE } from '../keys';
import { benchRedis, serve } from './serve';

const redis = benchRedis();
passport.use(new BearerTokenStrategy({ tokens: new TokenService({ store: new RedisTokenStore(redis) }) }));

const app = express();
app.use(passport.initialize());
app.get(ROUTE, passport.authenticate('bearer', { session: false }), (req, res) => {
  res.json({ user: req.authInfo?.login });
});

serve(app, redis);
