// Server 6: the stateless alternative, a JWT (HS256) verified with jose. No Redis at all, and so no
// revocation and no sliding expiry: the price of those is what servers 2-5 pay.
import express from 'express';
import { ROUTE } from '../keys';
import { serve } from './serve';

const secretText = process.env.BENCH_JWT_SECRET;
if (!secretText) throw new Error('BENCH_JWT_SECRET is not set (servers are started by bench/run.ts)');
const secret = new TextEncoder().encode(secretText);

// jose is ESM-only: a CommonJS module loads it with a dynamic import, once, before serving.
import('jose').then(({ jwtVerify }) => {
  const app = express();
  app.get(ROUTE, async (req, res) => {
    const header = req.headers.authorization;
    try {
      if (!header?.startsWith('Bearer ')) throw new Error('no bearer token');
      const { payload } = await jwtVerify(header.slice(7), secret, { algorithms: ['HS256'] });
      res.json({ user: payload.sub });
    } catch {
      res.status(401).json({ error: 'invalid_token' });
    }
  });
  serve(app);
});
