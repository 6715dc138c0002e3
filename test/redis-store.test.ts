import { RedisTokenStore } from '../adapters/redis';
import { connectTestRedis, deleteKeys, uniquePrefix, waitReal } from './support/redis';
import { runStoreConformance } from './support/store-conformance';

runStoreConformance('RedisTokenStore (standalone)', async () => {
  const client = connectTestRedis();
  const prefix = uniquePrefix('conformance');
  return {
    store: new RedisTokenStore(client, { prefix }),
    advance: waitReal,
    cleanup: async () => {
      await deleteKeys(client, prefix);
      await client.quit();
    },
  };
});
