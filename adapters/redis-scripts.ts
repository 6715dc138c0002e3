import { createHash } from 'node:crypto';

/**
 * The Redis store's Lua scripts, kept in one place. Each touches one key (so it runs on any
 * Cluster node), is sent once and then called by SHA. A token is one hash:
 *   h secret hash · u user · l label · s scopes (space-separated) · c created · e hard limit
 *   a window · lu last used · ip last client IP · r revoked at (a tombstone has only u and r)
 * and the sliding window *is* the key's TTL.
 */
export interface LuaScript {
  lua: string;
  sha: string;
}

function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

// The fields in the order READ and VERIFY return them, followed by the key's PTTL.
const FIELDS = `'h', 'u', 'l', 's', 'c', 'e', 'a', 'lu', 'ip', 'r'`;

/** KEYS[1] token · ARGV: ttl, then field/value pairs. Creates only if absent; returns 1 or 0. */
export const CREATE = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`);

/** KEYS[1] token · returns the fields and the PTTL, or nil. */
export const READ = script(`
local v = redis.call('HMGET', KEYS[1], ${FIELDS})
if not v[2] then return false end
v[11] = redis.call('PTTL', KEYS[1])
return v
`);

/**
 * KEYS[1] token · ARGV: secret hash, now (ms), SHA-1 of the login ('' = any), touch interval (ms), ip ('' = none).
 * The login travels hashed: someone who pastes a secret into the user-name field must not see it in
 * MONITOR or the slow log.
 * The hot path. Refreshes only when the hash (and login) match, so knowing a token's public id is
 * not enough to keep it alive. Returns the fields and the PTTL, or nil.
 */
export const VERIFY = script(`
local v = redis.call('HMGET', KEYS[1], ${FIELDS})
if not v[1] then
  if v[10] then v[11] = 0 return v end
  return false
end
if v[1] == ARGV[1] and (ARGV[3] == '' or ARGV[3] == redis.sha1hex(v[2])) then
  local now = tonumber(ARGV[2])
  local hard = tonumber(v[6])
  if hard and hard <= now then
    redis.call('DEL', KEYS[1])
    return false
  end
  local window = tonumber(v[7])
  if window then
    local ttl = window
    if hard and hard - now < ttl then ttl = hard - now end
    redis.call('PEXPIRE', KEYS[1], ttl)
    v[11] = ttl
  end
  local last = tonumber(v[8])
  if not last or now - last >= tonumber(ARGV[4]) then
    v[8] = ARGV[2]
    if ARGV[5] ~= '' then
      v[9] = ARGV[5]
      redis.call('HSET', KEYS[1], 'lu', ARGV[2], 'ip', ARGV[5])
    else
      redis.call('HSET', KEYS[1], 'lu', ARGV[2])
    end
  end
end
if not v[11] then v[11] = redis.call('PTTL', KEYS[1]) end
return v
`);

/**
 * KEYS[1] token · ARGV: now (ms), longest tombstone life (ms). Replaces a live token by a
 * tombstone (user + revocation time) that lives no longer than the token would have. Returns the
 * token's fields and PTTL as READ does, or nil if there was no live token.
 */
export const REVOKE = script(`
local v = redis.call('HMGET', KEYS[1], ${FIELDS})
if not v[1] then return false end
local ttl = redis.call('PTTL', KEYS[1])
v[11] = ttl
redis.call('DEL', KEYS[1])
if ttl > tonumber(ARGV[2]) then ttl = tonumber(ARGV[2]) end
if ttl > 0 then
  redis.call('HSET', KEYS[1], 'u', v[2], 'r', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return v
`);

/**
 * KEYS[1] token · ARGV: now (ms), new hard limit (ms). Brings the hard limit forward, never back;
 * the TTL follows. Returns 1, or 0 if there is no live token.
 */
export const LIMIT = script(`
local v = redis.call('HMGET', KEYS[1], 'h', 'e')
if not v[1] then return 0 end
local at = tonumber(ARGV[2])
local hard = tonumber(v[2])
if hard and hard < at then at = hard end
local left = at - tonumber(ARGV[1])
if left < 1 then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HSET', KEYS[1], 'e', at)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or ttl > left then redis.call('PEXPIRE', KEYS[1], left) end
return 1
`);

/** KEYS[1] failure counter · ARGV: window (ms). Fixed window from the first failure; returns { count, pttl }. */
export const RECORD_FAILURE = script(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { n, ttl }
`);
