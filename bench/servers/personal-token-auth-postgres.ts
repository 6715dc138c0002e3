// Server 5: the library on PostgreSQL, `personalTokenAuth()` over a PostgresTokenStore on the database
// at DATABASE_URL, loaded as server 3 is, with the same sliding tokens (seeded through TokenService on
// the same store). A check is one statement, counted at the server by pg_stat_statements.
import express from 'express';
import { personalTokenAuth } from 'personal-token-auth';
import { PostgresTokenStore } from 'personal-token-auth/adapters/postgres';
import { Pool } from 'pg';
import { ROUTE, serve, storeAddress } from './serve';

// More connections than a 2-CPU server runs at once; --compare runs two of these on one server (max 60).
const pool = new Pool({ connectionString: storeAddress('DATABASE_URL'), max: 20 });
pool.on('error', (error: Error) => console.error(`PostgreSQL: ${error.message}`));
const store = new PostgresTokenStore(pool);
const auth = personalTokenAuth({ store });

const app = express();
app.get(ROUTE, auth, (req, res) => {
  res.json({ user: req.authInfo?.login });
});

serve(app, store.createSchema());
