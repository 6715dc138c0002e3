/**
 * Where the zero-configuration service and the CLI look for Redis when told nothing. Kept apart from
 * the Redis store and client, so that reading these loads neither.
 */

/** The key prefix of the default service and the Redis store's default. */
export const DEFAULT_KEY_PREFIX = 'pat:';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function redisUrlFromEnv(): string {
  // `||`, not `??`: an empty REDIS_URL (`REDIS_URL= npm start`) means "not set", as in most tools.
  return process.env.REDIS_URL || DEFAULT_REDIS_URL;
}
