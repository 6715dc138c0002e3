// Statements a PostgreSQL server ran on the tokens table, from pg_stat_statements (the extension must
// be loaded: shared_preload_libraries = pg_stat_statements, then CREATE EXTENSION): counted at the
// server, so that "one statement per request" is measured, not assumed.
import { Client } from 'pg';

/** Calls of every statement that names `table` since the statistics were last reset. */
export async function statementsOn(url: string, table = 'personal_tokens'): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT coalesce(sum(calls), 0)::bigint AS calls FROM pg_stat_statements WHERE strpos(query, $1) > 0',
      [`"${table}"`],
    );
    return Number((rows[0] as { calls: string }).calls);
  } finally {
    await client.end();
  }
}
