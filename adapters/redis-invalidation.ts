import {
  decodeInvalidation,
  encodeInvalidation,
  type InvalidationChannel,
  type InvalidationSubscription,
} from '../lib/cache-invalidation';

/** The part of an ioredis `Redis` or `Cluster` the channel uses. */
interface PublishingClient {
  publish(channel: string, message: string): Promise<unknown>;
  duplicate(override?: Record<string, unknown>): SubscribingConnection;
  readonly isCluster?: boolean;
  /** A Cluster's node connections (the Cluster keeps the list current). */
  nodes?(role?: 'all' | 'master'): PublishingClient[];
  /** A node's address. */
  readonly options?: { host?: string; port?: number };
}

interface SubscribingConnection {
  readonly status: string;
  subscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  disconnect(): void;
}

/**
 * This process's subscribers by channel name, whichever store object they came from (two stores on
 * one client and prefix share a channel): they hear a change before it is published, not when Redis
 * echoes it. A same-named channel of another server gets the ids too; dropping a cached token only
 * costs a store call.
 */
const subscribersHere = new Map<string, Set<(ids: string[]) => void>>();

// How long a Cluster subscription waits before it tries another node, after losing one.
const NEXT_NODE_DELAY = 100;

/**
 * The invalidation channel of a Redis store: PUBLISH on the store's client, SUBSCRIBE on a
 * connection of its own. Undefined for a client that cannot publish.
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
    // A revocation resolves once published: by then every service of this process must refuse the
    // token, and its own subscription may not have read the message yet.
    for (const onIds of subscribersHere.get(this.#channel) ?? []) onIds([...ids]);
    // In a Cluster, PUBLISH reaches every node: a subscriber on any one of them hears it.
    const message = encodeInvalidation(ids);
    const node = publishingNode(this.#client);
    if (node !== undefined) {
      try {
        await node.publish(this.#channel, message);
        return;
      } catch {
        // That node is gone: any other carries it, if perhaps out of order (heard twice is harmless).
      }
    }
    await this.#client.publish(this.#channel, message);
  }

  subscribe(onIds: (ids: string[]) => void, onHealth: (healthy: boolean) => void): InvalidationSubscription {
    const here = subscribersHere.get(this.#channel) ?? new Set();
    subscribersHere.set(this.#channel, here.add(onIds));
    const subscription = this.#subscribeRemote(onIds, onHealth);
    return {
      close: async () => {
        here.delete(onIds);
        if (here.size === 0) subscribersHere.delete(this.#channel);
        await subscription.close();
      },
    };
  }

  #subscribeRemote(
    onIds: (ids: string[]) => void,
    onHealth: (healthy: boolean) => void,
  ): InvalidationSubscription {
    const client = this.#client;
    if (!client.isCluster) {
      // `duplicate()`: a Sentinel client's copy follows the master as the store's does; ioredis
      // reconnects it, and each new connection subscribes again (see `subscribeOn`).
      const connection = client.duplicate({ autoResubscribe: false, lazyConnect: false });
      const subscription = this.#subscribeOn(connection, onIds, onHealth);
      return { close: async () => subscription.close() };
    }
    // A Cluster client would move its subscription between nodes by itself, without a sign that
    // messages were missed meanwhile. Hence a plain connection to one node, never reconnected:
    // once it is gone, the channel is unhealthy until a connection to another node subscribes.
    let closed = false;
    let current: { close(): void } | undefined;
    const connect = () => {
      if (closed) return;
      const nodes = client.nodes!('all');
      const node = nodes[Math.floor(Math.random() * nodes.length)];
      if (node === undefined) {
        setTimeout(connect, NEXT_NODE_DELAY).unref();
        return;
      }
      const connection = node.duplicate({
        autoResubscribe: false,
        lazyConnect: false,
        retryStrategy: () => null,
      });
      connection.on('end', () => {
        if (!closed) setTimeout(connect, NEXT_NODE_DELAY).unref();
      });
      current = this.#subscribeOn(connection, onIds, onHealth);
    };
    connect();
    return {
      close: async () => {
        closed = true;
        current?.close();
      },
    };
  }

  /**
   * Subscribes by hand on each connection that comes up rather than by ioredis' autoResubscribe:
   * the channel is healthy only once the server confirmed the subscription on the connection that
   * is up now, and unhealthy from the moment it closes.
   */
  #subscribeOn(
    connection: SubscribingConnection,
    onIds: (ids: string[]) => void,
    onHealth: (healthy: boolean) => void,
  ): { close(): void } {
    let connections = 0;
    let closed = false;
    connection.on('message', (channel: string, text: string) => {
      // A closed connection may still read what was on its way: the subscription has ended.
      if (!closed && channel === this.#channel) onIds(decodeInvalidation(text));
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
      close: () => {
        closed = true;
        connection.disconnect();
      },
    };
  }
}

/**
 * In a Cluster, the node every process publishes through: the master first by address. The bus
 * forwards one node's messages to the others in the order it took them, whereas messages the Cluster
 * client sends through nodes picked at random may overtake one another on their way to a subscriber.
 * Undefined outside a Cluster.
 */
function publishingNode(client: PublishingClient): PublishingClient | undefined {
  if (!client.isCluster) return undefined;
  let chosen: PublishingClient | undefined;
  let chosenAddress = '';
  for (const node of client.nodes!('master')) {
    const address = `${node.options?.host}:${String(node.options?.port).padStart(5, '0')}`;
    if (chosen === undefined || address < chosenAddress) {
      chosen = node;
      chosenAddress = address;
    }
  }
  return chosen;
}
