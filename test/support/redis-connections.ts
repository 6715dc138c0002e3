// How test support talks to the Redis servers it starts: a one-shot connection for a probe, and
// the long-lived clients it hands to tests, all disconnected when their server set stops.
import { type Cluster, Redis } from 'ioredis';

export const REDIS_HOST = '127.0.0.1';

/**
 * Runs `ask` on a fresh connection to the server on `port`, then closes it. A probe on a connection
 * of its own never waits behind a test's commands or a client's reconnection, and a server that is
 * down or paused fails it within `timeoutMs`: nothing is queued for later.
 */
export async function askRedis<T>(
  port: number,
  ask: (redis: Redis) => Promise<T>,
  timeoutMs = 1000,
): Promise<T> {
  const redis = new Redis({
    host: REDIS_HOST,
    port,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  let socketError: Error | undefined;
  redis.on('error', (error: Error) => {
    socketError = error;
  });
  try {
    // connect() rejects with "Connection is closed"; the socket's own error (ECONNREFUSED...) says why.
    await redis.connect().catch((error: unknown) => {
      throw socketError ?? error;
    });
    return await ask(redis);
  } finally {
    redis.disconnect();
  }
}

/** One field of an INFO reply, e.g. infoField(info, 'master_link_status'). */
export function infoField(info: string, field: string): string | undefined {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

/** Clients handed to tests, each disconnected by disconnectAll() (their server set's stop()). */
export class OwnedClients {
  readonly #clients = new Set<Redis | Cluster>();

  add<T extends Redis | Cluster>(client: T): T {
    // An owned client must not crash the test process with an unhandled 'error' event while its
    // server is down on purpose; tests that care attach their own listener.
    client.on('error', () => {});
    this.#clients.add(client);
    client.once('end', () => this.#clients.delete(client));
    return client;
  }

  disconnectAll(): void {
    for (const client of this.#clients) client.disconnect();
    this.#clients.clear();
  }
}
