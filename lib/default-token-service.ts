import { Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX, RedisTokenStore } from '../adapters/redis';
import { TokenService } from './token-service';

/** Where `personalTokenAuth()` and the CLI look for Redis when told nothing. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function redisUrlFromEnv(): string {
  // `||`, not `??`: an empty REDIS_URL (`REDIS_URL= npm start`) means "not set", as in most tools.
  return process.env.REDIS_URL || DEFAULT_REDIS_URL;
}

/**
 * The zero-configuration service: Redis at `$REDIS_URL` (default `redis://127.0.0.1:6379`), keys
 * under `pat:`. The client is tuned for an authentication path: commands fail fast while Redis is
 * away instead of queueing without bound, and reconnection is retried every few hundred ms so
 * requests succeed again soon after Redis is back.
 */
export function createDefaultTokenService(timeout = 1000): TokenService {
  const client = new Redis(redisUrlFromEnv(), {
    commandTimeout: timeout,
    connectTimeout: Math.max(timeout, 2000),
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 100, 500),
  });
  let reported = false;
  // Without a listener ioredis prints every reconnection failure; one line per outage is enough.
  client.on('error', (error: Error) => {
    if (reported) return;
    reported = true;
    console.error(
      `personal-token-auth: Redis unavailable (${error.message}); requests get 503 until it is back`,
    );
  });
  client.on('ready', () => {
    reported = false;
  });
  return new TokenService({
    store: new RedisTokenStore(client, { prefix: DEFAULT_KEY_PREFIX }),
    timeout,
    onClose: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  });
}
