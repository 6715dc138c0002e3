import { createHash } from 'node:crypto';

/**
 * The Redis store's Lua scripts, kept in one place. Each touches one key (so it runs on any
 * Cluster node), is sent once and then called by SHA. A token is one hash:
 *   h secret hash · u user · l label · s scopes (space-separated) · c created · e hard limit · a window · lu last used
 * and the sliding window *is* the key's TTL.
 */
export interface LuaScript {
  lua: string;
  sha: string;
}

function script(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

// Fields in the order the scripts return them, followed by the key's PTTL.
export const FIELDS = ['h', 'u', 'l', 's', 'c', 'e', 'a', 'lu'] as const;

/** KEYS[1] token · ARGV: ttl, then field/value pairs. Creates only if absent; returns 1 or 0. */
export const CREATE = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`);

/** KEYS[1] token · returns the fields and the PTTL, or nil. */
export const READ = script(`
local v = redis.call('HMGET', KEYS[1], 'h', 'u', 'l', 's', 'c', 'e', 'a', 'lu')
if not v[1] then return false end
v[9] = redis.call('PTTL', KEYS[1])
return v
`);

/**
 * KEYS[1] token · ARGV: secret hash, now (ms), login ('' = any), touch interval (ms).
 * The hot path. Refreshes only when the hash (and login) match, so knowing a token's public id is
 * not enough to keep it alive. Returns the fields and the PTTL, or nil.
 */
export const VERIFY = script(`
local v = redis.call('HMGET', KEYS[1], 'h', 'u', 'l', 's', 'c', 'e', 'a', 'lu')
if not v[1] then return false end
if v[1] == ARGV[1] and (ARGV[3] == '' or ARGV[3] == v[2]) then
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
    v[9] = ttl
  end
  local last = tonumber(v[8])
  if not last or now - last >= tonumber(ARGV[4]) then
    redis.call('HSET', KEYS[1], 'lu', ARGV[2])
    v[8] = ARGV[2]
  end
end
if not v[9] then v[9] = redis.call('PTTL', KEYS[1]) end
return v
`);
