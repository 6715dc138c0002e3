// Server 1: bare Express, no auth. The ceiling: what the route costs with nothing in front of it.
import express from 'express';
import { ROUTE, serve } from './serve';

const app = express();
app.get(ROUTE, (_req, res) => {
  res.json({ user: 'anonymous' });
});

serve(app);
