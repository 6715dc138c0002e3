import { createHash } from 'node:crypto';
import { MAX_RECENT_IPS } from '../lib/store';

/**
 * The Redis store's Lua scripts, kept in one place. None is on the success path of a check (one
 * native GET or GETEX): they are for what must be atomic off it, and for a check that found no live
 * record under the token's own key, and the throttle's when it is on. Each touches the keys of one
 * token, one user's index, or one client's failures, which share a Cluster hash tag, so it runs on
 * whichever node holds them; each is sent once and then called by SHA.
 *
 * A token's keys (`{id}` the hash tag): `t:{id}` its record while its text's terms hold, `l:{id}` its
 * record once its hard limit was brought forward (`limit`), and `r:{id}` its tombstone once revoked.
 * A check applies to `t:{id}` the plan the service made from the token's text; once the text's terms
 * no longer hold, the record is elsewhere and that plan finds nothing to extend. Values: see redis-record.ts
 * (fields separated by tabs; no field holds one).
 *
 * Times: a sliding window is a duration, set relative to Redis' own clock (PX), and a hard limit an
 * absolute time from the app's clock (PXAT, PEXPIREAT): a key then never outlives its hard limit,
 * however long the command took to arrive, and a window is a window whatever the clocks' skew.
 */
export interface LuaScript {
  lua: string;
  sha: string;
}

function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

// Lua: a stored value's tab-separated fields, as a table (1-based, empty fields kept).
const SPLIT = `
local function split(text)
  local fields, i = {}, 1
  for field in (text .. '\\t'):gmatch('([^\\t]*)\\t') do fields[i] = field; i = i + 1 end
  return fields
end
`;

// Lua: the live record of a token, from `t:` or else `l:` (KEYS[1], KEYS[2]), and the key it is under.
const LIVE = `
local function live()
  local value = redis.call('GET', KEYS[1])
  if value then return value, KEYS[1] end
  value = redis.call('GET', KEYS[2])
  if value then return value, KEYS[2] end
  return nil, nil
end
`;

/**
 * KEYS t, l, r · ARGV: value, 'PX' or 'PXAT', its expiry (see `expiryOf`). Stores a new token unless
 * its id was ever used; returns 1, or 0.
 */
export const CREATE = script(`
if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]) > 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1
`);

/** KEYS t, l · returns { value, pttl } of the live record, or nil. */
export const READ = script(`
${LIVE}
local value, key = live()
if not value then return false end
return { value, redis.call('PTTL', key) }
`);

// Lua: applies a check's plan to the record `fields` under `key`, whose hash matched: writes the use
// (ARGV[2] now) when the stored one is none or at most ARGV[3] (touch if before), or when the stored
// use is at most `new_ip_if_before` ('' for no such rule) and the IP is not among the recent ones or
// `pending` addresses are given (the plan's, as the recent IPs field is written; '' for none); with
// the IP if ARGV[4] is 'set' (ARGV[5], escaped). The recent IPs (field 11, see redis-record.ts) then
// merge the IP (seen now), the pending addresses and those held as `withRecentIps` does (recent-ips.ts):
// each address once at its latest time, newest first, ties in that order, the newest MAX_RECENT_IPS
// kept. Returns 0 when it wrote nothing, else 1, and the addresses it added to the recent IPs (as
// '<time>,<ip>' entries, space-separated). The key keeps its TTL.
const RECORD_USE = `
local function recent_entries(list, into, known)
  for entry in list:gmatch('[^ ]+') do
    local comma = entry:find(',', 1, true) or 0
    local seen, ip = entry:sub(1, comma - 1), entry:sub(comma + 1)
    into[#into + 1] = { tonumber(seen) or 0, seen, ip, #into + 1 }
    if known then known[ip] = true end
  end
end
local function merged_recent(held, pending, ip)
  local all, known = {}, {}
  if ip then all[1] = { tonumber(ARGV[2]), ARGV[2], ip, 1 } end
  recent_entries(pending, all, nil)
  recent_entries(held, all, known)
  table.sort(all, function(a, b)
    if a[1] ~= b[1] then return a[1] > b[1] end
    return a[4] < b[4]
  end)
  local kept, added, taken = {}, {}, {}
  for _, entry in ipairs(all) do
    if #kept == ${MAX_RECENT_IPS} then break end
    if not taken[entry[3]] then
      taken[entry[3]] = true
      kept[#kept + 1] = entry[2] .. ',' .. entry[3]
      if not known[entry[3]] then added[#added + 1] = kept[#kept] end
    end
  end
  return table.concat(kept, ' '), table.concat(added, ' ')
end
local function record_use(key, fields, new_ip_if_before, pending)
  local last = tonumber(fields[8])
  local ip = ARGV[4] == 'set' and ARGV[5] ~= '' and ARGV[5] or nil
  local held = fields[11] or ''
  if last and last > tonumber(ARGV[3]) then
    local gap = tonumber(new_ip_if_before)
    if not (gap and last <= gap) then return 0, '' end
    if pending == '' then
      if not ip then return 0, '' end
      for entry in held:gmatch('[^ ]+') do
        if entry:sub((entry:find(',', 1, true) or 0) + 1) == ip then return 0, '' end
      end
    end
  end
  fields[8] = ARGV[2]
  if ARGV[4] == 'set' then fields[9] = ARGV[5] end
  local added = ''
  if ip or pending ~= '' then fields[11], added = merged_recent(held, pending, ip) end
  redis.call('SET', key, table.concat(fields, '\\t'), 'KEEPTTL')
  return 1, added
end
`;

/**
 * KEYS l, r · ARGV: secret hash, now (ms), touch if before, 'set' or 'keep' the IP, the IP, the
 * plan's expiry ('' for none), new IP if before ('' for none), pending addresses ('' for none). What
 * a check that found nothing under `t:` finds instead: `{ 'L', value, pttl, written, added }`
 * (`written` and `added` as `record_use` answers) for a
 * record whose hard limit was brought forward, to which the secret's holder applies the plan here (its expiry capped by the record's limit, as a time; a window, as a duration), and
 * only before that limit; `{ 'R', value }` for a tombstone, left as it is; or nil.
 */
export const CHECK_ELSEWHERE = script(`
${SPLIT}
${RECORD_USE}
local value, written, added = redis.call('GET', KEYS[1]), 0, ''
if value then
  local fields = split(value)
  local now, hard, planned = tonumber(ARGV[2]), tonumber(fields[6]), tonumber(ARGV[6])
  if fields[2] == ARGV[1] and hard and hard > now then
    if planned and planned < hard then
      redis.call('PEXPIRE', KEYS[1], math.max(1, planned - now))
    elseif planned then
      redis.call('PEXPIREAT', KEYS[1], hard)
    end
    written, added = record_use(KEYS[1], fields, ARGV[7], ARGV[8])
    value = table.concat(fields, '\\t')
  end
  return { 'L', value, redis.call('PTTL', KEYS[1]), written, added }
end
value = redis.call('GET', KEYS[2])
if value then return { 'R', value } end
return false
`);

/**
 * KEYS t, l, r · ARGV: now (ms), the tombstone's life (ms), as the service set it. Replaces the live
 * record by a tombstone that lives no longer than that, nor than the token would have: renamed, the key keeps its expiry to the
 * millisecond. Returns { value, pttl } of the record, or nil. A token already revoked gets its
 * tombstone written again as it is (same value, same expiry): a write, so that a `WAIT` after a
 * retried revocation covers the first one's (see durableRevocation), wherever that was sent from.
 */
export const REVOKE = script(`
${SPLIT}
${LIVE}
local value, key = live()
if not value then
  local tombstone = redis.call('GET', KEYS[3])
  if tombstone then redis.call('SET', KEYS[3], tombstone, 'KEEPTTL') end
  return false
end
local ttl = redis.call('PTTL', key)
redis.call('RENAME', key, KEYS[3])
redis.call('SET', KEYS[3], 'R\\t' .. split(value)[3] .. '\\t' .. ARGV[1], 'KEEPTTL')
redis.call('PEXPIRE', KEYS[3], ARGV[2], 'LT')
return { value, ttl }
`);

/**
 * KEYS t, l · ARGV: now (ms), new hard limit (ms). Brings the hard limit forward, never back, and
 * moves the record to `l:`, where a check with the token's text (which carries the old limit) does
 * not reach it; renamed, the key keeps its expiry, unless the new limit comes first. Returns 1, or 0
 * if there is no live token.
 */
export const LIMIT = script(`
${SPLIT}
${LIVE}
local value, key = live()
if not value then return 0 end
local fields = split(value)
local now, at = tonumber(ARGV[1]), tonumber(ARGV[2])
local hard = tonumber(fields[6])
if hard and hard < at then at = hard end
if at - now < 1 then
  redis.call('DEL', key)
  return 1
end
fields[6] = tostring(at)
if key ~= KEYS[2] then redis.call('RENAME', key, KEYS[2]) end
redis.call('SET', KEYS[2], table.concat(fields, '\\t'), 'KEEPTTL')
redis.call('PEXPIREAT', KEYS[2], at, 'LT')
return 1
`);

/**
 * KEYS[1] the key a check found the record under · ARGV: secret hash, now (ms), touch if before,
 * 'set' or 'keep' the IP, the IP (escaped, '' for none), new IP if before ('' for none), pending
 * addresses ('' for none). Writes a check's use down (see `record_use`) on a live record whose hash
 * matches; returns what `record_use` does, with the recent IPs after: { written, recent IPs, added }. Called only when the record the check read
 * was due for one: at most once per touch interval, or per new-IP gap for a new address.
 */
export const TOUCH = script(`
${SPLIT}
${RECORD_USE}
local value = redis.call('GET', KEYS[1])
if not value or value:sub(1, 1) ~= 'T' then return 0 end
local fields = split(value)
if fields[2] ~= ARGV[1] then return 0 end
local written, added = record_use(KEYS[1], fields, ARGV[6], ARGV[7])
return { written, fields[11] or '', added }
`);

// Lua: the rank (counted by `rank`, ZRANK or ZREVRANK) at which a page of the sorted set KEYS[1] starts,
// right after the cursor's score and id (0 for no cursor, id ''). A cursor's id that has left the set
// since is put back for the time of the lookup, so that its rank says where the page starts, and
// taken out again: nobody sees it.
const START_AFTER = `
local function start_after(rank, score, id)
  if id == '' then return 0 end
  local added = redis.call('ZADD', KEYS[1], 'NX', score, id)
  local start = redis.call(rank, KEYS[1], id) + 1
  if added == 1 then
    redis.call('ZREM', KEYS[1], id)
    start = start - 1
  end
  return start
end
`;

/**
 * KEYS[1] a user's index, KEYS[2] its reservations · ARGV: created at and id of the cursor ('' for
 * none: from the start), page size. A page of the index, newest first, after the cursor, and which
 * of its ids are reserved (their tokens may not exist yet, and must stay): { { id, score, id,
 * score... }, { reserved id... } }. A cursor's id that has left the index since is put back for the
 * time of the lookup, so that its rank says where the page starts, and taken out again: nobody sees it.
 */
export const PAGE = script(`
${START_AFTER}
local start = start_after('ZREVRANK', ARGV[1], ARGV[2])
local entries = redis.call('ZREVRANGE', KEYS[1], start, start + tonumber(ARGV[3]) - 1, 'WITHSCORES')
local reserved = {}
for i = 1, #entries, 2 do
  if redis.call('ZSCORE', KEYS[2], entries[i]) then reserved[#reserved + 1] = entries[i] end
end
return { entries, reserved }
`);

/**
 * KEYS[1] a user's index, KEYS[2] its reservations (a sorted set: id → when the reservation lapses,
 * app time) · ARGV: now (ms), how long a reservation lasts (ms), the most entries ('' for no limit),
 * the new id, its created at, how many settled ids to return under the limit, then ids to drop.
 *
 * The count and the reservation of an issue under `maxTokensPerUser`, in the user's slot (a token's
 * own keys are in another). A reservation puts the new id in the index before its record exists, so
 * that it counts from the start; the record is written next (CREATE), and the reservation then ends
 * (SETTLE), or lapses should the app die in between. Every entry counts but those dropped: the ids
 * the app found gone (no live record of this user's), which it read as settled (unreserved) and
 * looked up only after: an id settles once its record exists, and ids are never reused, so an id
 * gone then stays gone. A reserved id is never dropped: its record may be on its way.
 *
 * Returns { 1, settled } when reserved, with the oldest settled ids (up to the number asked for) for
 * the app to look up, and drop next time those that are gone; { 0, {} } when the index holds the
 * limit (the app then looks up the user's tokens, see PAGE, and tries again without the gone ones);
 * { -1, {} } when the id is in the index already.
 */
export const RESERVE = script(`
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
for i = 7, #ARGV do
  if not redis.call('ZSCORE', KEYS[2], ARGV[i]) then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
local function settled(last)
  local found = {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, last)) do
    if not redis.call('ZSCORE', KEYS[2], id) then found[#found + 1] = id end
  end
  return found
end
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return { -1, {} } end
if ARGV[3] ~= '' and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return { 0, {} } end
local sample = settled(tonumber(ARGV[6]) - 1)
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return { 1, sample }
`);

/**
 * KEYS[1] a user's index, KEYS[2] its reservations · ARGV: a reserved id, '1' if it leaves the index
 * too (its record was not written), then settled ids found gone, to drop. Ends a reservation (also
 * one of EXPIRY_RESERVE, in a bucket of the index by hard limit).
 */
export const SETTLE = script(`
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then redis.call('ZREM', KEYS[1], ARGV[1]) end
for i = 3, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
return 1
`);

/**
 * KEYS[1] a bucket of the index by hard limit (`x:{b<k>}`, a sorted set: id → hard limit), KEYS[2]
 * its reservations (`xn:{b<k>}`, as a user's `n:`) · ARGV: now (ms), the end of the window (ms), the
 * hard limit and id of the cursor ('' for none: from the start), page size.
 *
 * An issue puts its id in its bucket before its record exists (EXPIRY_RESERVE), and the reservation
 * ends with SETTLE, as in the user's index: a record is never missing from the index, and an entry
 * whose record is not written yet is never dropped. Entries whose hard limit has passed are dropped
 * here: their tokens are gone. Returns a page of the
 * bucket, soonest first, after the cursor and within the window, and which of its ids are
 * reserved: { { id, hard limit, id, hard limit... }, { reserved id... } }. A cursor's id is put in
 * for the time of the lookup, as in PAGE, so that its rank says where the page starts.
 */
export const EXPIRING_PAGE = script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
${START_AFTER}
local start = start_after('ZRANK', ARGV[3], ARGV[4])
local found = redis.call('ZRANGE', KEYS[1], start, start + tonumber(ARGV[5]) - 1, 'WITHSCORES')
local entries, reserved, window_end = {}, {}, tonumber(ARGV[2])
for i = 1, #found, 2 do
  if tonumber(found[i + 1]) > window_end then break end
  entries[#entries + 1] = found[i]
  entries[#entries + 1] = found[i + 1]
  if redis.call('ZSCORE', KEYS[2], found[i]) then reserved[#reserved + 1] = found[i] end
end
return { entries, reserved }
`);

/**
 * KEYS[1] a bucket of the index by hard limit, KEYS[2] its reservations · ARGV: now (ms), how long a
 * reservation lasts (ms), the new id, its hard limit. An issue's entry, reserved as RESERVE reserves
 * one in the user's index (see EXPIRING_PAGE); and the entries whose hard limit has passed dropped,
 * so that the bucket holds no more than the tokens whose hard limit is to come, listed or not.
 * Returns 1, or 0 if the id is in the bucket already.
 */
export const EXPIRY_RESERVE = script(`
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`);

/**
 * KEYS[1] an ancestor's index of descendants (`d:{<ancestor id>}`, a sorted set: id → the
 * descendant's hard limit, `+inf` for none) · ARGV: now (ms), the hard limit or '+inf', the id.
 * Adds a descendant before its record is written, and drops those whose hard limit has passed. The
 * key lives as long as its longest-lived entry: until the latest hard limit, or, once it holds a
 * token without one, until it is emptied (`delete`, `listDescendants`).
 */
export const ADD_DESCENDANT = script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local existed = redis.call('EXISTS', KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
if ARGV[2] == '+inf' then
  redis.call('PERSIST', KEYS[1])
elseif existed == 0 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[2], 'GT')
end
return 1
`);

/**
 * KEYS[1] an ancestor's index of descendants · ARGV: now (ms), first rank, how many. Drops the
 * entries whose hard limit has passed, and returns a range of the others' ids.
 */
export const DESCENDANTS = script(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], ARGV[2], tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1)
`);

// Lua: counts a failure in a fixed window from the first failure; returns { count, pttl }.
const COUNT_FAILURE = `
local function count_failure(key, window)
  local n = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, window)
    ttl = tonumber(window)
  end
  return { n, ttl }
end
`;

/**
 * KEYS[1] failure counter, KEYS[2] reserved attempts (a sorted set: attempt → when it lapses) ·
 * ARGV: now (ms), limit, window (ms), attempt id. Reserves the attempt only while failures plus
 * reserved attempts stay below the limit. Returns { 1 if reserved else 0, failures, reserved, pttl }.
 */
export const RESERVE_ATTEMPT = script(`
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
local reserved = redis.call('ZCARD', KEYS[2])
local ttl = redis.call('PTTL', KEYS[1])
if failures + reserved >= tonumber(ARGV[2]) then return { 0, failures, reserved, ttl } end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return { 1, failures, reserved + 1, ttl }
`);

/**
 * KEYS[1] failure counter, KEYS[2] reserved attempts · ARGV: attempt id, window (ms). Turns the
 * reservation into a failure, counted in a fixed window from the first; returns { count, pttl }.
 */
export const FAIL_ATTEMPT = script(`
${COUNT_FAILURE}
redis.call('ZREM', KEYS[2], ARGV[1])
return count_failure(KEYS[1], ARGV[2])
`);
