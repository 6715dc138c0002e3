import { MAX_RECENT_IPS } from '../lib/store';

/**
 * The PostgreSQL store's statements, kept in one place. Each method of the store is one statement,
 * one round trip: what must be atomic is one `UPDATE`, one `INSERT … ON CONFLICT`, or data-modifying
 * CTEs in one statement, never a transaction held open across round trips. Times are ms since the
 * epoch (`bigint`), from the app's clock.
 *
 * Each is a named (prepared) statement, parsed and planned once per connection.
 */
export interface Statement {
  name: string;
  text: string;
}

/**
 * How many rows after a new token's id an issue looks at, deleting those that expired. Ids are
 * random, so each issue checks a random stretch of the table, at a constant cost: in a steady state
 * about 1 row in `SWEEP_SAMPLE` is an expired one waiting (as Redis' sampled expiry), with no job to
 * run. The same number bounds what a failure deletes from the failure counters.
 */
export const SWEEP_SAMPLE = 32;

export interface Statements {
  create: Statement;
  verify: Statement;
  verifyWithIp: Statement;
  get: Statement;
  firstPage: Statement;
  nextPage: Statement;
  firstExpiring: Statement;
  nextExpiring: Statement;
  delete: Statement;
  descendants: Statement;
  limit: Statement;
  reserveAttempt: Statement;
  releaseAttempt: Statement;
  failAttempt: Statement;
}

const COLUMNS =
  'id, login, secret_hash, label, scopes, created_at, expires_at, hard_expires_at, auto_refresh, last_used_at, last_used_ip, revoked_at';

// What a read returns: the columns an insert writes, and those it leaves to their defaults.
const RECORD_COLUMNS = `${COLUMNS}, recent_ips, ancestor_ids`;

/** The statements of a store on `table` (already checked by `tableName`). */
export function statementsFor(table: string): Statements {
  const t = `"${table}"`;
  const f = `"${table}_failures"`;
  const named = (what: string, text: string): Statement => ({ name: `pta_${what}_${table}`, text });

  // The attempts of a failure row that have not lapsed by $now.
  const pending = (now: string) =>
    `(SELECT coalesce(jsonb_object_agg(a.key, a.value), '{}'::jsonb) FROM jsonb_each(f.attempts) a WHERE (a.value)::bigint > ${now})`;
  // Deletes a few failure rows that mean nothing any more (window over, no attempt pending). Only
  // rows no other statement holds: two clients whose rows both lapsed, failing at once, each lock
  // their own row first and would each wait for the other's here, a deadlock.
  const sweepFailures = (now: string, key: string) =>
    `swept AS (DELETE FROM ${f} WHERE key IN (SELECT key FROM ${f} WHERE expires_at <= ${now} AND key <> ${key} ORDER BY expires_at LIMIT ${SWEEP_SAMPLE} FOR UPDATE SKIP LOCKED))`;
  // Counts one failure in the fixed window that starts with the first one.
  // ($2 now, $3 window, cast: a parameter's type is deduced once, and `unknown + unknown` is none.)
  const countFailure = `count = CASE WHEN f.reset_at > $2::bigint THEN f.count + 1 ELSE 1 END,
    reset_at = CASE WHEN f.reset_at > $2::bigint THEN f.reset_at ELSE $2::bigint + $3::bigint END,
    expires_at = GREATEST(f.expires_at, CASE WHEN f.reset_at > $2::bigint THEN f.reset_at ELSE $2::bigint + $3::bigint END)`;

  return {
    // $1..$11 the record, $12 now, $13 the most live tokens of the user (null: no limit), $14 its
    // ancestors (so that the row and its entry in the index of descendants come together). An id is
    // taken while its token or its tombstone lives; a row that expired is replaced. With a limit, the
    // user's live tokens are counted under the user's lock (`<table>_live_tokens`, see the schema),
    // held until this statement commits, and the row is inserted only below the limit. Returns
    // whether it was inserted, and the count. The sweep looks at the rows after this id (never at it).
    create: named(
      'create',
      `WITH swept AS (
  DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE id > $1 ORDER BY id LIMIT ${SWEEP_SAMPLE}) AND expires_at <= $12::bigint
), live AS (
  SELECT CASE WHEN $13::bigint IS NULL THEN 0 ELSE "${table}_live_tokens"($2, $12::bigint, $13::bigint) END AS count
), inserted AS (
  INSERT INTO ${t} AS t (${COLUMNS}, ancestor_ids)
  SELECT $1::text, $2::text, $3::text, $4::text, $5::text[], $6::bigint, $7::bigint, $8::bigint, $9::bigint, $10::bigint, $11::text, NULL, $14::text[]
  FROM live WHERE $13::bigint IS NULL OR live.count < $13::bigint
  ON CONFLICT (id) DO UPDATE SET
    login = excluded.login, secret_hash = excluded.secret_hash, label = excluded.label,
    scopes = excluded.scopes, created_at = excluded.created_at, expires_at = excluded.expires_at,
    hard_expires_at = excluded.hard_expires_at, auto_refresh = excluded.auto_refresh,
    last_used_at = excluded.last_used_at, last_used_ip = excluded.last_used_ip, revoked_at = NULL,
    recent_ips = excluded.recent_ips, ancestor_ids = excluded.ancestor_ids
  WHERE t.expires_at <= $12::bigint
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM inserted) AS created, (SELECT count FROM live) AS live`,
    ),

    // $1 id, $2 secret hash, $3 now, $4 new expiry (null: it does not move), $5 touch if last use
    // <= this, $6 whether to write the IP, $7 the IP. The plan applies only to a live record whose
    // hash matches; a token with only a hard limit and no use due is not written at all. Whatever was
    // not applied, the second half reads: a record left as it is, or a tombstone.
    verify: named(
      'verify',
      `WITH applied AS (
  UPDATE ${t} AS t SET
    expires_at = CASE WHEN $4::bigint IS NULL THEN t.expires_at ELSE LEAST($4::bigint, coalesce(t.hard_expires_at, $4::bigint)) END,
    last_used_at = CASE WHEN t.last_used_at IS NULL OR t.last_used_at <= $5::bigint THEN $3::bigint ELSE t.last_used_at END,
    last_used_ip = CASE WHEN $6::boolean AND (t.last_used_at IS NULL OR t.last_used_at <= $5::bigint) THEN $7::text ELSE t.last_used_ip END
  WHERE t.id = $1 AND t.secret_hash = $2 AND t.revoked_at IS NULL AND t.expires_at > $3::bigint
    AND ($4::bigint IS NOT NULL OR t.last_used_at IS NULL OR t.last_used_at <= $5::bigint)
  RETURNING ${RECORD_COLUMNS}
)
SELECT ${RECORD_COLUMNS} FROM applied
UNION ALL
SELECT ${RECORD_COLUMNS} FROM ${t} WHERE id = $1 AND expires_at > $3::bigint AND NOT EXISTS (SELECT 1 FROM applied)`,
    ),

    // A check that records client IPs: $1 id, $2 secret hash, $3 now, $4 new expiry (null: it does
    // not move), $5 touch if last use <= this, $6 the IP (null: none), $7 new IP if last use <= this,
    // $8 the plan's pending addresses (a jsonb array as recent_ips holds them; null: none). As
    // `verify`, and a use is also due for an IP not in recent_ips, or for pending addresses, once the
    // last use is at most $7. A written use merges the IP (seen now), the pending addresses and those
    // held as `withRecentIps` does (lib/check/recent-ips.ts): each address once at its latest time, newest
    // first, ties in that order, the newest ${MAX_RECENT_IPS} kept. `before` locks the row first and reads
    // it as it is then, so that concurrent checks each merge into the other's list; `added_ips` are
    // the addresses the write put into recent_ips that it did not hold.
    verifyWithIp: named(
      'verify_ip',
      `WITH before AS (
  SELECT t.id, t.recent_ips AS held,
    (t.last_used_at IS NULL OR t.last_used_at <= $5::bigint
      OR (t.last_used_at <= $7::bigint AND ($8::jsonb IS NOT NULL
        OR ($6::text IS NOT NULL AND NOT (t.recent_ips @> jsonb_build_array(jsonb_build_object('ip', $6::text))))))) AS due
  FROM ${t} AS t
  WHERE t.id = $1 AND t.secret_hash = $2 AND t.revoked_at IS NULL AND t.expires_at > $3::bigint
  FOR UPDATE
), applied AS (
  UPDATE ${t} AS t SET
    expires_at = CASE WHEN $4::bigint IS NULL THEN t.expires_at ELSE LEAST($4::bigint, coalesce(t.hard_expires_at, $4::bigint)) END,
    last_used_at = CASE WHEN before.due THEN $3::bigint ELSE t.last_used_at END,
    last_used_ip = CASE WHEN before.due THEN $6::text ELSE t.last_used_ip END,
    recent_ips = CASE WHEN NOT before.due OR ($6::text IS NULL AND $8::jsonb IS NULL) THEN t.recent_ips ELSE (
      SELECT coalesce(jsonb_agg(jsonb_build_object('ip', ip, 'lastSeenAt', seen) ORDER BY seen DESC, place), '[]'::jsonb)
      FROM (
        SELECT ip, seen, place FROM (
          SELECT DISTINCT ON (ip) ip, seen, place FROM (
            SELECT $6::text AS ip, $3::bigint AS seen, 0::bigint AS place WHERE $6::text IS NOT NULL
            UNION ALL
            SELECT p.entry->>'ip', (p.entry->>'lastSeenAt')::bigint, p.place
              FROM jsonb_array_elements(coalesce($8::jsonb, '[]'::jsonb)) WITH ORDINALITY AS p(entry, place)
            UNION ALL
            SELECT o.entry->>'ip', (o.entry->>'lastSeenAt')::bigint, 1000 + o.place
              FROM jsonb_array_elements(t.recent_ips) WITH ORDINALITY AS o(entry, place)
          ) AS candidates
          ORDER BY ip, seen DESC NULLS LAST, place
        ) AS latest
        ORDER BY seen DESC NULLS LAST, place LIMIT ${MAX_RECENT_IPS}
      ) AS kept
    ) END
  FROM before
  WHERE t.id = before.id AND ($4::bigint IS NOT NULL OR before.due)
  RETURNING ${RECORD_COLUMNS.split(', ')
    .map((column) => `t.${column}`)
    .join(', ')}, CASE WHEN before.due THEN (
      SELECT jsonb_agg(now_held.entry->'ip') FROM jsonb_array_elements(t.recent_ips) AS now_held(entry)
      WHERE NOT (before.held @> jsonb_build_array(jsonb_build_object('ip', now_held.entry->'ip')))
    ) END AS added_ips
)
SELECT ${RECORD_COLUMNS}, added_ips FROM applied
UNION ALL
SELECT ${RECORD_COLUMNS}, NULL FROM ${t} WHERE id = $1 AND expires_at > $3::bigint AND NOT EXISTS (SELECT 1 FROM applied)`,
    ),

    // $1 id, $2 now.
    get: named(
      'get',
      `SELECT ${RECORD_COLUMNS} FROM ${t} WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2`,
    ),

    // $1 login, $2 now, $3 how many. Newest first, then by id, as every store lists.
    firstPage: named(
      'first_page',
      `SELECT ${RECORD_COLUMNS} FROM ${t} WHERE login = $1 AND revoked_at IS NULL AND expires_at > $2
ORDER BY created_at DESC, id DESC LIMIT $3`,
    ),
    // … $4 created at and $5 id of the cursor: the page starts right after that position.
    nextPage: named(
      'next_page',
      `SELECT ${RECORD_COLUMNS} FROM ${t} WHERE login = $1 AND revoked_at IS NULL AND expires_at > $2
  AND (created_at < $4 OR (created_at = $4 AND id < $5))
ORDER BY created_at DESC, id DESC LIMIT $3`,
    ),

    // $1 now, $2 the window's end, $3 how many. Soonest hard limit first, then by id, as every store
    // lists: a range of the index by hard limit (`<table>_by_hard_limit`), from now to the window's end.
    firstExpiring: named(
      'first_expiring',
      `SELECT ${COLUMNS} FROM ${t}
WHERE hard_expires_at IS NOT NULL AND revoked_at IS NULL AND hard_expires_at > $1 AND hard_expires_at <= $2
  AND expires_at > $1
ORDER BY hard_expires_at, id LIMIT $3`,
    ),
    // … $4 hard limit and $5 id of the cursor: the page starts right after that position.
    nextExpiring: named(
      'next_expiring',
      `SELECT ${COLUMNS} FROM ${t}
WHERE hard_expires_at IS NOT NULL AND revoked_at IS NULL AND hard_expires_at > $1 AND hard_expires_at <= $2
  AND (hard_expires_at, id) > ($4::bigint, $5::text) AND expires_at > $1
ORDER BY hard_expires_at, id LIMIT $3`,
    ),

    // $1 id, $2 now, $3 longest tombstone life (an absolute time). The live record becomes its own
    // tombstone, which keeps no hash, and lives no longer than the token would have. Returns the
    // record as it was.
    delete: named(
      'delete',
      `WITH old AS (
  SELECT ${COLUMNS} FROM ${t} WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 FOR UPDATE
)
UPDATE ${t} AS t SET revoked_at = $2, expires_at = LEAST(t.expires_at, $3), secret_hash = ''
FROM old WHERE t.id = old.id
RETURNING ${COLUMNS.split(', ')
        .map((column) => `old.${column}`)
        .join(', ')}`,
    ),

    // $1 ancestor id, $2 now, $3 how many: live tokens descending from it, through the GIN index
    // (`<table>_by_ancestor`, whose predicate the array test implies).
    descendants: named(
      'descendants',
      `SELECT id FROM ${t} WHERE ancestor_ids @> ARRAY[$1::text] AND cardinality(ancestor_ids) > 0
  AND revoked_at IS NULL AND expires_at > $2 LIMIT $3`,
    ),

    // $1 id, $2 now, $3 new hard limit: brought forward, never back; the expiry with it.
    limit: named(
      'limit',
      `UPDATE ${t} SET
  hard_expires_at = LEAST(coalesce(hard_expires_at, $3), $3),
  expires_at = LEAST(expires_at, $3)
WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2`,
    ),

    // $1 key, $2 now, $3 limit, $4 window, $5 attempt id. One row per client holds its failures and
    // its reserved attempts, so that the upsert, which locks that row, decides on the latest of both:
    // granted only while failures in the window and attempts not lapsed stay below the limit.
    // Returns the attempts and failures after, and whether this one is among them.
    reserveAttempt: named(
      'reserve_attempt',
      `WITH ${sweepFailures('$2::bigint', '$1')}
INSERT INTO ${f} AS f (key, count, reset_at, attempts, expires_at)
VALUES ($1, 0, $2::bigint, CASE WHEN $3::bigint > 0 THEN jsonb_build_object($5::text, $2::bigint + $4::bigint) ELSE '{}'::jsonb END, $2::bigint + $4::bigint)
ON CONFLICT (key) DO UPDATE SET
  attempts = CASE
    WHEN (CASE WHEN f.reset_at > $2::bigint THEN f.count ELSE 0 END) + (SELECT count(*) FROM jsonb_object_keys(${pending('$2::bigint')})) < $3::bigint
    THEN ${pending('$2::bigint')} || jsonb_build_object($5::text, $2::bigint + $4::bigint)
    ELSE ${pending('$2::bigint')} END,
  count = CASE WHEN f.reset_at > $2::bigint THEN f.count ELSE 0 END,
  reset_at = CASE WHEN f.reset_at > $2::bigint THEN f.reset_at ELSE $2::bigint END,
  expires_at = GREATEST(f.expires_at, $2::bigint + $4::bigint)
RETURNING count, reset_at, attempts ? $5::text AS reserved, (SELECT count(*) FROM jsonb_object_keys(attempts)) AS pending`,
    ),

    // $1 key, $2 attempt id.
    releaseAttempt: named('release_attempt', `UPDATE ${f} SET attempts = attempts - $2::text WHERE key = $1`),

    // $1 key, $2 now, $3 window, $4 attempt id: the reservation becomes a failure (also once lapsed).
    failAttempt: named(
      'fail_attempt',
      `WITH ${sweepFailures('$2::bigint', '$1')}
INSERT INTO ${f} AS f (key, count, reset_at, attempts, expires_at) VALUES ($1, 1, $2::bigint + $3::bigint, '{}', $2::bigint + $3::bigint)
ON CONFLICT (key) DO UPDATE SET ${countFailure}, attempts = f.attempts - $4::text
RETURNING count, reset_at`,
    ),
  };
}
