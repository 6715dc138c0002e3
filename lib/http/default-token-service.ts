import { TokenService } from '../manage/token-service';
import { requireOptional } from '../optional-dependency';
import { DEFAULT_KEY_PREFIX, redisUrlFromEnv } from '../redis-defaults';

/**
 * The zero-configuration service: Redis at `$REDIS_URL` (default `redis://127.0.0.1:6379`), keys
 * under `pat:`. The client is tuned for an authentication path: commands fail fast while Redis is
 * away instead of queueing without bound, and reconnection is retried every few hundred ms so
 * requests succeed again soon after Redis is back.
 */
export function createDefaultTokenService(timeout = 1000): TokenService {
  // Measured (see test/reliability-redis-outage.test.ts): commandTimeout alone rejects the caller but
  // leaves the command queued, and a frozen server (SIGSTOP, a silent network) lets commands pile up
  // on the open socket; socketTimeout drops such a connection, no retries keep nothing waiting, and
  // a short reconnection backoff has requests succeed again within a few hundred ms of Redis' return.
  // The offline queue stays on, so commands sent while the first connection opens wait for it.
  // Required here, not imported: an app with a store of its own never loads a Redis client, nor
  // needs one installed (ioredis is an optional peer dependency).
  const { Redis } = requireOptional<typeof import('ioredis')>(
    'ioredis',
    'personalTokenAuth() without a store (Redis at $REDIS_URL)',
  );
  const { RedisTokenStore } = require('../../adapters/redis') as typeof import('../../adapters/redis');
  const client = new Redis(redisUrlFromEnv(), {
    commandTimeout: timeout,
    socketTimeout: timeout,
    connectTimeout: timeout,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 50, 500),
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
