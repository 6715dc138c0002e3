// One app process for the cache's invalidation test: checks the tokens it is given, under load,
// through a service with a cache, and reports each invalidation message the moment it arrives,
// with the answer of a check made right after it. Talks to its parent over IPC.
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RedisTokenStore } from '../../adapters/redis';
import type { InvalidationChannel } from '../../lib/cache-invalidation';
import { TokenService } from '../../lib/manage/token-service';

export type WorkerMessage =
  | { type: 'health'; healthy: boolean }
  | { type: 'ready'; storeCalls: number; checks: number }
  | { type: 'evicted'; id: string; at: number; refused: boolean }
  | { type: 'done'; checks: number; storeCalls: number; acceptedAfterMessage: number };

const send = (message: WorkerMessage) => {
  // After the parent hung up (the channel's last close, as the service closes), nothing to tell.
  if (process.connected) process.send!(message);
};
const client = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
const store = new RedisTokenStore(client, { prefix: process.env.PREFIX!, durableRevocation: false });
const verify = store.verify.bind(store);
let storeCalls = 0;
store.verify = (...args) => {
  storeCalls++;
  return verify(...args);
};
const byId = new Map<string, string>();
/** When the message for each id arrived: no check that starts later may accept it. */
const heard = new Map<string, number>();
let acceptedAfterMessage = 0;
let checks = 0;

const channel = store.invalidations!;
const observed: InvalidationChannel = {
  publish: (ids) => channel.publish(ids),
  subscribe: (onIds, onHealth) =>
    channel.subscribe(
      (ids) => {
        onIds(ids);
        const at = performance.timeOrigin + performance.now();
        for (const id of ids) {
          heard.set(id, at);
          const token = byId.get(id);
          if (token === undefined) continue;
          check(token).then((ok) => send({ type: 'evicted', id, at, refused: !ok }));
        }
      },
      (healthy) => {
        send({ type: 'health', healthy });
        onHealth(healthy);
      },
    ),
};
Object.defineProperty(store, 'invalidations', { value: observed });
const service = new TokenService({ store, cache: { maxStale: '1h' } });

function check(token: string): Promise<boolean> {
  return service.checker.check(token, undefined, undefined).then((result) => result.ok);
}

let running = true;

/** Load: a batch of checks of random tokens per turn of the event loop, as a busy server does. */
async function load(list: string[], ids: string[]): Promise<void> {
  while (running) {
    const batch: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const pick = Math.floor(Math.random() * list.length);
      const startedAfter = heard.get(ids[pick]!);
      batch.push(
        check(list[pick]!).then(
          (ok) => {
            checks++;
            if (ok && startedAfter !== undefined) acceptedAfterMessage++;
          },
          () => {},
        ),
      );
    }
    await Promise.all(batch);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

process.on(
  'message',
  async (message: { type: 'tokens'; tokens: { id: string; token: string }[] } | { type: 'stop' }) => {
    if (message.type === 'tokens') {
      for (const { id, token } of message.tokens) byId.set(id, token);
      const list = message.tokens.map((entry) => entry.token);
      const ids = message.tokens.map((entry) => entry.id);
      // Every token checked once (cached), then a round of hits, before the load starts.
      for (const token of list) if (!(await check(token))) throw new Error('a fresh token was refused');
      const before = storeCalls;
      for (const token of list) await check(token);
      send({ type: 'ready', storeCalls: storeCalls - before, checks: list.length });
      for (let i = 0; i < 4; i++) void load(list, ids);
      return;
    }
    running = false;
    send({ type: 'done', checks, storeCalls, acceptedAfterMessage });
    await service.close();
    client.disconnect();
    process.disconnect();
  },
);
