// Server 10 (optional): Express + one prepared PostgreSQL statement per request, the floor of any check
// backed by PostgreSQL as server 2 is of one backed by Redis: the Bearer token as it comes, a row looked
// up by primary key, no hashing, no expiry, no write. Server 5 (the library on PostgreSQL) is reported
// as a ratio to it.
import express from 'express';
import { Pool } from 'pg';
import { LOGIN_TABLE, ROUTE, serve, storeAddress } from './serve';

// As many connections as server 5's pool: the same concurrency against the database.
const pool = new Pool({ connectionString: storeAddress('DATABASE_URL'), max: 20 });
pool.on('error', (error: Error) => console.error(`PostgreSQL: ${error.message}`));
// Named: each connection parses and plans it once, then only binds and executes.
const LOOKUP = { name: 'bench-login', text: `SELECT login FROM ${LOGIN_TABLE} WHERE token = $1` };

const app = express();
app.get(ROUTE, async (req, res) => {
  const header = req.headers.authorization;
  const rows = header?.startsWith('Bearer ')
    ? (await pool.query<{ login: string }>({ ...LOOKUP, values: [header.slice(7)] })).rows
    : [];
  if (rows.length === 0) {
    res.status(401).json({ error: 'invalid_token' });
    return;
  }
  res.json({ user: rows[0]!.login });
});

serve(app, pool.query('SELECT 1'));
