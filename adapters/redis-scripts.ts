import { createHash } from 'node:crypto';

/**
 * The Redis store's Lua scripts, kept in one place. None is on the request path (a check is one
 * native GET or GETEX) but the throttle's, when it is on: they are for what must be atomic. Each
 * touches one key, or two that share a hash tag, so it runs on any Cluster node; each is sent once
 * and then called by SHA.
 *
 * A token is one string, its fields separated by tabs (no field can hold one):
 *   T · secret hash · user · scopes (space-separated) · created · hard limit · window · last used · ip · label
 * and its TTL is its expiry. A revoked token's tombstone is `R · user · revoked at`.
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

/** KEYS[1] token · returns { value, pttl }, or nil. */
export const READ = script(`
local value = redis.call('GET', KEYS[1])
if not value then return false end
return { value, redis.call('PTTL', KEYS[1]) }
`);

/**
 * KEYS[1] token · ARGV: now (ms), longest tombstone life (ms). Replaces a live token by a tombstone
 * that lives no longer than the token would have. Returns { value, pttl } of the token, or nil.
 */
export const REVOKE = script(`
${SPLIT}
local value = redis.call('GET', KEYS[1])
if not value or value:sub(1, 1) ~= 'T' then return false end
local ttl = redis.call('PTTL', KEYS[1])
local user = split(value)[3]
redis.call('DEL', KEYS[1])
local life = ttl
if life > tonumber(ARGV[2]) then life = tonumber(ARGV[2]) end
if life > 0 then redis.call('SET', KEYS[1], 'R\\t' .. user .. '\\t' .. ARGV[1], 'PX', life) end
return { value, ttl }
`);

/**
 * KEYS[1] token · ARGV: now (ms), new hard limit (ms). Brings the hard limit forward, never back;
 * the TTL follows. Returns 1, or 0 if there is no live token.
 */
export const LIMIT = script(`
${SPLIT}
local value = redis.call('GET', KEYS[1])
if not value or value:sub(1, 1) ~= 'T' then return 0 end
local fields = split(value)
local at = tonumber(ARGV[2])
local hard = tonumber(fields[6])
if hard and hard < at then at = hard end
local left = at - tonumber(ARGV[1])
if left < 1 then
  redis.call('DEL', KEYS[1])
  return 1
end
fields[6] = tostring(at)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or ttl > left then ttl = left end
redis.call('SET', KEYS[1], table.concat(fields, '\\t'), 'PX', ttl)
return 1
`);

/**
 * KEYS[1] token · ARGV: secret hash, now (ms), ip ('' = keep). Records a use (last used, and the
 * client IP) on a live token whose hash matches, keeping its TTL. At most once per touch interval,
 * and for sliding tokens only the first time, so it is rarely called.
 */
export const TOUCH = script(`
${SPLIT}
local value = redis.call('GET', KEYS[1])
if not value or value:sub(1, 1) ~= 'T' then return 0 end
local fields = split(value)
if fields[2] ~= ARGV[1] then return 0 end
fields[8] = ARGV[2]
if ARGV[3] ~= '' then fields[9] = ARGV[3] end
redis.call('SET', KEYS[1], table.concat(fields, '\\t'), 'KEEPTTL')
return 1
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

/** KEYS[1] failure counter · ARGV: window (ms). Fixed window from the first failure; returns { count, pttl }. */
export const RECORD_FAILURE = script(`
${COUNT_FAILURE}
return count_failure(KEYS[1], ARGV[1])
`);

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
 * reservation into a failure; returns { count, pttl } as RECORD_FAILURE.
 */
export const FAIL_ATTEMPT = script(`
${COUNT_FAILURE}
redis.call('ZREM', KEYS[2], ARGV[1])
return count_failure(KEYS[1], ARGV[2])
`);
