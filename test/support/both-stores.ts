import { after, describe } from 'node:test';
import { MemoryTokenStore } from '../../adapters/memory';
import { RedisTokenStore } from '../../adapters/redis';
import type { AttemptStore, TokenStore } from '../../lib/index';
import { connectTestRedis, deleteKeys, uniquePrefix, waitReal } from './redis';

export interface StoreContext {
  name: 'memory' | 'redis';
  /** A fresh store: its own clock on memory, its own key prefix on Redis. */
  makeStore(): TokenStore & AttemptStore;
  /** Moves time on: instantly on the memory store's clock, for real on Redis (keep it short). */
  advance(ms: number): Promise<void>;
}

/** Runs a suite once on the memory store and once on the real Redis, cleaning up after itself. */
export function onBothStores(title: string, body: (context: StoreContext) => void): void {
  describe(`${title} (memory store)`, () => {
    let time = Date.UTC(2026, 0, 1);
    body({
      name: 'memory',
      makeStore: () => new MemoryTokenStore({ now: () => time }),
      advance: async (ms) => {
        time += ms;
      },
    });
  });

  describe(`${title} (Redis store)`, () => {
    const client = connectTestRedis();
    const prefix = uniquePrefix('lifecycle');
    let stores = 0;
    after(async () => {
      await deleteKeys(client, prefix);
      await client.quit();
    });
    body({
      name: 'redis',
      makeStore: () => new RedisTokenStore(client, { prefix: `${prefix}${stores++}:` }),
      advance: waitReal,
    });
  });
}
