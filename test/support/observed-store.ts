// A Redis store as the cache tests need to watch it: the health of its invalidation channel as the
// cache hears it, the ids of each message, and how many checks reach the store.
import type { Cluster, Redis } from 'ioredis';
import { RedisTokenStore, type RedisTokenStoreOptions } from '../../adapters/redis';
import { uniquePrefix } from './redis';

export function observedStore(client: Redis | Cluster, options: RedisTokenStoreOptions = {}) {
  const store = new RedisTokenStore(client, {
    prefix: uniquePrefix('cache'),
    durableRevocation: false,
    ...options,
  });
  const channel = store.invalidations!;
  const health: boolean[] = [];
  const heard: string[] = [];
  Object.defineProperty(store, 'invalidations', {
    value: {
      publish: (ids: readonly string[]) => channel.publish(ids),
      subscribe: (onIds: (ids: string[]) => void, onHealth: (healthy: boolean) => void) =>
        channel.subscribe(
          (ids) => {
            heard.push(...ids);
            onIds(ids);
          },
          (healthy) => {
            health.push(healthy);
            onHealth(healthy);
          },
        ),
    },
  });
  const verify = store.verify.bind(store);
  let verifies = 0;
  store.verify = (...args) => {
    verifies++;
    return verify(...args);
  };
  return { store, health, heard, verifies: () => verifies };
}
