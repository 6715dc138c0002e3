// Server 5: what an app would hand-write with passport + passport-http-bearer: the token itself is
// the key, GET the user, then PEXPIRE to slide the expiry (two round trips), behind
// passport.initialize() and passport.authenticate().
import express from 'express';
import passport from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import { NAIVE_KEY_PREFIX, ROUTE, SLIDING_WINDOW_MS } from '../keys';
import { benchRedis, serve } from './serve';

interface NaiveUser {
  login: string;
}

const redis = benchRedis();

passport.use(
  new BearerStrategy((token, done) => {
    const key = NAIVE_KEY_PREFIX + token;
    redis
      .get(key)
      .then(async (json) => {
        if (json === null) return null;
        await redis.pexpire(key, SLIDING_WINDOW_MS);
        return JSON.parse(json) as NaiveUser;
      })
      .then(
        (user) => done(null, user ?? false),
        (error: unknown) => done(error),
      );
  }),
);

const app = express();
app.use(passport.initialize());
app.get(ROUTE, passport.authenticate('bearer', { session: false }), (req, res) => {
  res.json({ user: (req.user as NaiveUser).login });
});

serve(app, redis);
