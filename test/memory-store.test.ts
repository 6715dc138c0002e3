import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryTokenStore } from '../adapters/memory';
import { TOMBSTONE_LIFE } from '../lib/store';
import { conformanceCaseNames } from '../testing/check-token-store';
import { testTokenStore } from '../testing/node-test';

testTokenStore(
  'MemoryTokenStore',
  async () => {
    let time = Date.UTC(2026, 0, 1);
    return {
      store: new MemoryTokenStore({ now: () => time }),
      advance: async (ms) => {
        time += ms;
      },
      cleanup: async () => {},
    };
  },
  {
    // One process: no other process's channel, no connection to drop, no replica to fail over to.
    notOffered: conformanceCaseNames.filter(
      (name) =>
        name.startsWith('invalidations: every message reaches') ||
        name.startsWith('invalidations: a subscription whose') ||
        name.startsWith('failover:'),
    ),
  },
);

describe('MemoryTokenStore: every expiring entry is reclaimed', () => {
  /** The heap in use after a full collection, in bytes. */
  function heapAfterGc(): number {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    return process.memoryUsage().heapUsed;
  }

  test('a flood of 1,000,000 distinct failing clients keeps the store bounded', async () => {
    let time = Date.UTC(2026, 0, 1);
    const store = new MemoryTokenStore({ now: () => time });
    const heapBefore = heapAfterGc();
    let largest = 0;
    for (let i = 0; i < 1_000_000; i++) {
      await store.failAttempt(`198.51.${i >> 16}.${i & 0xffff}`, 'lapsed', 1000);
      // One new client per millisecond, each counter living 1 s: about 1,000 live at any time.
      time += 1;
      largest = Math.max(largest, store.size);
    }
    assert.ok(largest <= 4 * 1024, `at most ${largest} entries at once`);
    // The same, as memory: 1,000,000 counters kept would be well over 100 MB.
    const grown = heapAfterGc() - heapBefore;
    assert.ok(grown < 20 * 1024 * 1024, `the heap grew by ${Math.round(grown / 1024 / 1024)} MB`);
    // (And the store was alive all along: a collection could not have taken it.)
    assert.equal((await store.failAttempt('192.0.2.1', 'lapsed', 1000)).count, 1);
  });

  test('expired tokens and tombstones are reclaimed too, whether or not anyone reads them again', async () => {
    let time = Date.UTC(2026, 0, 1);
    const store = new MemoryTokenStore({ now: () => time });
    let largest = 0;
    for (let i = 0; i < 100_000; i++) {
      const secretHash = i.toString(16).padStart(64, '0');
      await store.create({
        id: secretHash.slice(0, 16),
        user: `user-${i}`,
        secretHash,
        label: null,
        scopes: [],
        createdAt: time,
        expiresAt: time + 1000,
        hardExpiresAt: time + 1000,
        autoRefresh: null,
        lastUsedAt: null,
        lastUsedIp: null,
        recentIps: [],
      });
      if (i % 2 === 0) await store.delete(secretHash.slice(0, 16), time + TOMBSTONE_LIFE);
      time += 1;
      largest = Math.max(largest, store.size);
    }
    assert.ok(largest <= 4 * 1024, `at most ${largest} entries at once`);
  });
});
