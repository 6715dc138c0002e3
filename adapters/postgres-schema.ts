/**
 * The PostgreSQL store's tables, as SQL: `createSchema()` runs it, and docs/postgres.md prints it for
 * migration tools (a test keeps the two the same).
 *
 * `<table>` holds tokens and their tombstones, one row per id: `revoked_at` null is a token, set is
 * its tombstone; either is gone once `expires_at` has passed (the rows are deleted later, see
 * `SWEEP_SAMPLE`). `<table>_failures` holds the throttle's failure counters and reserved attempts,
 * one row per client.
 *
 * `recent_ips` (a jsonb array, see `RecentIp`) came after the first release: a table made before
 * gets it added, once, without a rewrite (a constant default), checked first so that a start
 * takes no table lock when it is there already. `ancestor_ids` (a text array, see
 * `StoredToken.ancestorIds`) likewise; its GIN index (`<table>_by_ancestor`, only rows that have
 * ancestors) lists a token's descendants, row and entry written in one statement. A row and its
 * entry go together, so the index holds no more than the rows do.
 *
 * No index covers a column that a check writes (`expires_at`, `last_used_at`, `last_used_ip`,
 * `recent_ips`), so that a check's UPDATE is a HOT update: the new row version goes into the same page
 * and no index gets an entry. The fill factor leaves each page room for those versions. The index by
 * hard limit (`listExpiring`) holds only the tokens that have one and are not revoked: a check writes
 * neither.
 *
 * `<table>_live_tokens(login, now, up_to)` counts a user's live tokens (up to `up_to`) for an issue
 * under `maxTokensPerUser`, after taking a lock per user that the statement holds to its
 * end: the next issue of that user counts only once this one has committed. A function, because in
 * READ COMMITTED only a volatile function's own statements see what committed after their caller's
 * statement began (a subquery would count from before the lock).
 */

// The first key of the per-user advisory locks (the second is the login's hash): a key space of
// its own, apart from the one-number keys of `createSchema` and of the app's own locks.
const USER_LOCKS = 0x7074_6175;

// Lower-case, so that it means the same quoted as unquoted; short enough that the names made from it
// (`<table>_failures_expiry`, prepared statements `pta_<what>_<table>`) stay within PostgreSQL's 63.
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,39}$/;

export const DEFAULT_TABLE = 'personal_tokens';

/** The table name, checked: a TypeError for anything but a plain lower-case identifier. */
export function tableName(table: string | undefined): string {
  const name = table ?? DEFAULT_TABLE;
  if (typeof name !== 'string' || !TABLE_NAME.test(name)) {
    throw new TypeError(
      'PostgresTokenStore: table must be a lower-case identifier (a-z, 0-9, _), at most 40 characters',
    );
  }
  return name;
}

/** The statements that create the store's tables and indexes, if absent, in order. */
export function schemaStatements(table: string): string[] {
  const name = tableName(table);
  return [
    `CREATE TABLE IF NOT EXISTS "${name}" (
  id text COLLATE "C" PRIMARY KEY,
  login text NOT NULL,
  secret_hash text NOT NULL,
  label text,
  scopes text[] NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  hard_expires_at bigint,
  auto_refresh bigint,
  last_used_at bigint,
  last_used_ip text,
  revoked_at bigint
) WITH (fillfactor = 80)`,
    `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"${name}"'::regclass AND attname = 'recent_ips' AND NOT attisdropped) THEN
    ALTER TABLE "${name}" ADD COLUMN IF NOT EXISTS recent_ips jsonb NOT NULL DEFAULT '[]';
  END IF;
END $$`,
    `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"${name}"'::regclass AND attname = 'ancestor_ids' AND NOT attisdropped) THEN
    ALTER TABLE "${name}" ADD COLUMN IF NOT EXISTS ancestor_ids text[] NOT NULL DEFAULT '{}';
  END IF;
END $$`,
    `CREATE INDEX IF NOT EXISTS "${name}_by_login" ON "${name}" (login, created_at DESC, id DESC)`,
    `CREATE INDEX IF NOT EXISTS "${name}_by_ancestor" ON "${name}" USING gin (ancestor_ids)
  WHERE cardinality(ancestor_ids) > 0`,
    `CREATE INDEX IF NOT EXISTS "${name}_by_hard_limit" ON "${name}" (hard_expires_at, id)
  WHERE hard_expires_at IS NOT NULL AND revoked_at IS NULL`,
    `CREATE TABLE IF NOT EXISTS "${name}_failures" (
  key text PRIMARY KEY,
  count integer NOT NULL,
  reset_at bigint NOT NULL,
  attempts jsonb NOT NULL,
  expires_at bigint NOT NULL
)`,
    `CREATE INDEX IF NOT EXISTS "${name}_failures_expiry" ON "${name}_failures" (expires_at)`,
    `CREATE OR REPLACE FUNCTION "${name}_live_tokens"(for_login text, now bigint, up_to bigint) RETURNS bigint
VOLATILE LANGUAGE sql AS $$
SELECT pg_advisory_xact_lock(${USER_LOCKS}, hashtext(for_login));
SELECT count(*) FROM (
  SELECT 1 FROM "${name}" WHERE login = for_login AND revoked_at IS NULL AND expires_at > now LIMIT up_to
) AS live;
$$`,
  ];
}

/** The schema as one script, as docs/postgres.md shows it. */
export function schemaSql(table: string = DEFAULT_TABLE): string {
  return `${schemaStatements(table).join(';\n')};\n`;
}
