// The conformance harness's optional parts for a Redis store: its invalidation channel as another
// process holds it, and the channel's subscriptions cut as a network fault would cut them.
import type { InvalidationChannel } from '../../lib/cache-invalidation';

type RedisInvalidations = typeof import('../../adapters/redis-invalidation');

/**
 * The Redis store's channel as another process holds it: the adapter's module loaded a second time,
 * so that nothing of this process's is shared with it (the subscribers a publish here tells before
 * Redis echoes it): what its subscribers hear came through Redis. `client` is a connection of its own.
 */
export function remoteInvalidations(client: unknown, channel: string): InvalidationChannel {
  const path = require.resolve('../../adapters/redis-invalidation');
  const loaded = require.cache[path];
  delete require.cache[path];
  try {
    const { redisInvalidations } = require(path) as RedisInvalidations;
    return redisInvalidations(client, channel)!;
  } finally {
    require.cache[path] = loaded;
  }
}

/** The part of an ioredis client `dropSubscriptions` uses. */
interface AdminClient {
  client(subcommand: 'LIST'): Promise<unknown>;
  client(subcommand: 'KILL', filter: 'ID', id: string): Promise<unknown>;
}

/**
 * Cuts the pub/sub connections named `name` (the channel's subscriptions, which copy their client's
 * `connectionName`), by id: the other connections of a shared server are left alone.
 */
export async function dropSubscriptions(admin: AdminClient, name: string): Promise<void> {
  const list = String(await admin.client('LIST'));
  const ids = list
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((field) => field.split('=', 2))))
    .filter((fields) => fields.name === name && Number(fields.sub ?? 0) > 0)
    .map((fields) => String(fields.id));
  if (ids.length === 0) throw new Error(`no subscription named ${name} to drop`);
  for (const id of ids) await admin.client('KILL', 'ID', id);
}
