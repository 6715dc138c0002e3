// The library on PostgreSQL: `personalTokenAuth()` over a PostgresTokenStore on the database at
// DATABASE_URL (table personal_tokens, created if absent), loaded as servers 3 and 4 are, with the
// same sliding tokens (seeded through the store: TokenService.issue on it). One statement per request.
import express from 'express';
import { personalTokenAuth, TokenService } from 'personal-token-auth';
import { PostgresTokenStore } from 'personal-token-auth/adapters/postgres';
import { Pool } from 'pg';
// Until TokenService passes stores a CheckPlan: see that file.
import { ROUTE } from '../keys';
import { serve } from './serve';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is not set (servers are started by bench/run.ts)');
// As many connections as the load keeps in flight at once, so that none waits for one.
const pool = new Pool({ connectionString: url, max: 16, query_timeout: 2000, connectionTimeoutMillis: 2000 });
pool.on('error', (error: Error) => console.error(`PostgreSQL: ${error.message}`));
const store = new PostgresTokenStore(pool);
const auth = personalTokenAuth({ tokens: new TokenService({ store: store }) });

const app = express();
app.get(ROUTE, auth, (req, res) => {
  res.json({ user: req.authInfo?.login });
});

store.createSchema().then(
  () => serve(app),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
