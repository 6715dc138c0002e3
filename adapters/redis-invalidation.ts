import {
  decodeInvalidation,
  encodeInvalidation,
  type InvalidationChannel,
  type InvalidationSubscription,
} from '../lib/cache-invalidation';

/** The part of an ioredis `Redis` the channel uses: PUBLISH, and a connection of its own to subscribe on. */
interface PublishingClient {
  publish(channel: string, message: string): Promise<unknown>;
  duplicate(override?: Record<string, unknown>): SubscribingConnection;
  readonly isCluster?: boolean;
}

interface SubscribingConnection {
  readonly status: string;
  subscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  disconnect(): void;
}

/**
 * The invalidation channel of a Redis store: PUBLISH on the store's client, SUBSCRIBE on a
 * connection of its own (`client.duplicate()`, so a Sentinel client follows the master as the
 * store's does). Undefined for a client that cannot publish.
 */
export function redisInvalidations(client: unknown, channel: string): InvalidationChannel | undefined {
  const publisher = client as Partial<PublishingClient>;
  if (typeof publisher.publish !== 'function' || typeof publisher.duplicate !== 'function') return undefined;
  return new RedisInvalidations(publisher as PublishingClient, channel);
}

class RedisInvalidations implements InvalidationChannel {
  readonly #client: PublishingClient;
  readonly #channel: string;

  constructor(client: PublishingClient, channel: string) {
    this.#client = client;
    this.#channel = channel;
  }

  async publish(ids: readonly string[]): Promise<void> {
    // In a Cluster, PUBLISH reaches every node; any process, subscribed anywhere, hears it.
    await this.#client.publish(this.#channel, encodeInvalidation(ids));
  }

  subscribe(onIds: (ids: string[]) => void, onHealth: (healthy: boolean) => void): InvalidationSubscription {
    if (this.#client.isCluster) {
      // A Cluster client moves its subscription to another node by itself, without a sign that
      // messages were missed in between: nothing here could tell when the cache must be dropped.
      throw new TypeError(
        'The token cache cannot subscribe through a Redis Cluster client yet: give the cache a store on a Redis or Sentinel client',
      );
    }
    // Subscribed by hand on each connection rather than by ioredis' autoResubscribe: the channel
    // is healthy only once the server confirmed the subscription on the connection that is up now.
    const connection = this.#client.duplicate({ autoResubscribe: false, lazyConnect: false });
    let connections = 0;
    let closed = false;
    connection.on('message', (channel: string, text: string) => {
      if (channel === this.#channel) onIds(decodeInvalidation(text));
    });
    connection.on('ready', () => {
      const current = ++connections;
      connection.subscribe(this.#channel).then(
        () => {
          if (!closed && current === connections && connection.status === 'ready') onHealth(true);
        },
        // The connection dropped meanwhile: the next one subscribes again.
        () => {},
      );
    });
    connection.on('close', () => {
      connections++;
      onHealth(false);
    });
    // Each error also closes the connection (handled above); the store's own client reports them.
    connection.on('error', () => {});
    return {
      close: async () => {
        closed = true;
        connection.disconnect();
      },
    };
  }
}
