import { MemoryTokenStore } from '../adapters/memory';
import { runStoreConformance } from './support/store-conformance';

runStoreConformance('MemoryTokenStore', async () => {
  let time = Date.UTC(2026, 0, 1);
  return {
    store: new MemoryTokenStore({ now: () => time }),
    advance: async (ms) => {
      time += ms;
    },
    cleanup: async () => {},
  };
});
