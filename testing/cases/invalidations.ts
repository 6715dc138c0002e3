import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { InvalidationChannel, InvalidationSubscription } from '../../lib/cache-invalidation';
import type { CaseContext, ConformanceCase } from '../harness';

// The rules a channel keeps are those the cache's correctness rests on (lib/check/token-cache.ts): a process
// that publishes drops the tokens before `publish` resolves; every other process drops them within
// the bound, or has said that its subscription may have missed a message (`onHealth(false)`), which
// empties its cache. A message heard twice is harmless (a token dropped twice costs one store call),
// so repeats are allowed; one never heard, heard late, or heard after a later one is not.

const MESSAGES = 8;
/** How long a new subscription, or one whose connection dropped, may take to be in place again (ms). */
const SUBSCRIBE_BOUND = 10_000;

/** A message's ids, as the suite tells messages apart: each message has ids of its own. */
const keyOf = (ids: readonly string[]) => [...ids].sort().join(',');
/**
 * The channel is the store's, shared: the app's other processes, and late publishes of revocations
 * made before a case began (a call that missed its deadline still goes out), publish on it too, and a
 * subscriber rightly hears theirs. The suite's own ids start with this process's tag, and a listener
 * keeps only the messages made of them.
 */
const TAG = randomBytes(3).toString('hex');
const ID_REST = 8 - TAG.length / 2;
const newMessage = () =>
  Array.from({ length: 1 + (randomBytes(1)[0]! % 3) }, () => TAG + randomBytes(ID_REST).toString('hex'));
const isOurs = (ids: readonly string[]) => ids.length > 0 && ids.every((id) => id.startsWith(TAG));

interface Published {
  key: string;
  /** When its `publish` resolved (performance.now()). */
  resolvedAt: number;
}

/** One subscriber: what it heard, and when. */
class Listener {
  readonly heard: { key: string; at: number }[] = [];
  readonly health: boolean[] = [];
  readonly #subscription: InvalidationSubscription;
  #wake: (() => void) | undefined;

  constructor(
    channel: InvalidationChannel,
    readonly where: string,
  ) {
    this.#subscription = channel.subscribe(
      (ids) => {
        if (!isOurs(ids)) return;
        this.heard.push({ key: keyOf(ids), at: performance.now() });
        this.#wake?.();
      },
      (healthy) => {
        this.health.push(healthy);
        this.#wake?.();
      },
    );
  }

  get healthy(): boolean {
    return this.health.at(-1) === true;
  }

  /** The first time each message was heard, in the order heard. */
  firstHeard(): { key: string; at: number }[] {
    const seen = new Set<string>();
    return this.heard.filter((entry) => !seen.has(entry.key) && seen.add(entry.key));
  }

  /** Resolves to true once `done()` holds, or to what it says after `ms` (a real wait: messages come on real time). */
  until(done: () => boolean, ms: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(done());
      }, ms);
      this.#wake = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#wake = undefined;
        resolve(true);
      };
    });
  }

  async subscribed(): Promise<void> {
    assert.ok(
      await this.until(() => this.healthy, SUBSCRIBE_BOUND),
      `a subscription ${this.where} never said it was in place (onHealth(true)) within ${SUBSCRIBE_BOUND} ms`,
    );
  }

  close(): Promise<void> {
    return this.#subscription.close();
  }
}

/**
 * Publishes messages one after another on the store's channel; after each resolves, every subscriber
 * of this process has heard it, and every earlier one before it.
 */
async function publishAll(t: CaseContext, here: Listener[]): Promise<Published[]> {
  const channel = t.store.invalidations!;
  const published: Published[] = [];
  for (let n = 1; n <= MESSAGES; n++) {
    const ids = newMessage();
    await channel.publish(ids);
    published.push({ key: keyOf(ids), resolvedAt: performance.now() });
    for (const listener of here) {
      const heard = listener.firstHeard().map((entry) => entry.key);
      assert.ok(
        heard.includes(keyOf(ids)),
        `publish resolved before a subscriber ${listener.where} heard of it (message ${n} of ${MESSAGES}): this process's caches must drop the tokens first`,
      );
      assert.deepEqual(
        heard,
        published.map((message) => message.key),
        `a subscriber ${listener.where} heard the messages dropped or out of order`,
      );
    }
  }
  return published;
}

/** Every message reached `listener` within the bound of its publish resolving, once at least, in order. */
async function assertHeardAll(t: CaseContext, listener: Listener, published: Published[]): Promise<void> {
  const bound = t.invalidationBound;
  const keys = published.map((message) => message.key);
  const last = published.at(-1)!.resolvedAt;
  // Waits a bound longer than the rule allows: a message that comes late is then reported as late, not lost.
  await listener.until(
    () => listener.firstHeard().length >= keys.length,
    Math.max(0, last + 2 * bound - performance.now()),
  );
  const first = listener.firstHeard();
  for (const entry of first) {
    assert.ok(keys.includes(entry.key), `a subscriber ${listener.where} heard ids that were never published`);
  }
  published.forEach((message, index) => {
    const heard = first.find((entry) => entry.key === message.key);
    const which = `message ${index + 1} of ${keys.length}`;
    assert.ok(heard, `${which} never reached a subscriber ${listener.where} (dropped)`);
    const late = heard.at - message.resolvedAt;
    assert.ok(
      late <= bound,
      `${which} reached a subscriber ${listener.where} ${Math.round(late)} ms after its publish resolved, past the bound of ${bound} ms (delayed)`,
    );
  });
  assert.deepEqual(
    first.map((entry) => entry.key),
    keys,
    `a subscriber ${listener.where} heard a message after one published later (reordered)`,
  );
}

const HERE = 'in this process';
const ELSEWHERE = 'in another process';

async function closeAll(listeners: Listener[]): Promise<void> {
  await Promise.allSettled(listeners.map((listener) => listener.close()));
}

/** The invalidation channel, for a store that offers one (`TokenStore.invalidations`). */
export const invalidationCases: ConformanceCase[] = [
  {
    name: 'invalidations: publish reaches every subscriber of this process before it resolves, in order',
    appliesTo: (store) => store.invalidations !== undefined,
    async run(t) {
      const channel = t.store.invalidations!;
      const listeners = [new Listener(channel, HERE), new Listener(channel, HERE)];
      try {
        for (const listener of listeners) await listener.subscribed();
        await publishAll(t, listeners);
        const closed = listeners.pop()!;
        await closed.close();
        const after = newMessage();
        await channel.publish(after);
        assert.equal(listeners[0]!.firstHeard().length, MESSAGES + 1, 'the open subscriber hears on');
        assert.ok(
          !closed.heard.some((entry) => entry.key === keyOf(after)),
          'a closed subscription hears nothing published after',
        );
      } finally {
        await closeAll(listeners);
      }
    },
  },
  {
    name: 'invalidations: every message reaches every subscriber of another process within the bound, in order',
    appliesTo: (store, harness) => store.invalidations !== undefined && harness.remoteChannel !== undefined,
    async run(t) {
      const remote = await t.harness.remoteChannel!();
      const here = new Listener(t.store.invalidations!, HERE);
      const elsewhere = [new Listener(remote, ELSEWHERE), new Listener(remote, ELSEWHERE)];
      try {
        for (const listener of [here, ...elsewhere]) await listener.subscribed();
        const published = await publishAll(t, [here]);
        for (const listener of elsewhere) await assertHeardAll(t, listener, published);
      } finally {
        await closeAll([here, ...elsewhere]);
      }
    },
  },
  {
    name: 'invalidations: a subscription whose connection drops says so at once, and hears every message once back',
    appliesTo: (store, harness) =>
      store.invalidations !== undefined && harness.dropSubscriptions !== undefined,
    async run(t) {
      const remote = await t.harness.remoteChannel?.();
      const here = new Listener(t.store.invalidations!, HERE);
      const elsewhere = remote === undefined ? [] : [new Listener(remote, ELSEWHERE)];
      const listeners = [here, ...elsewhere];
      try {
        for (const listener of listeners) await listener.subscribed();
        const healthyBefore = listeners.map((listener) => listener.health.length);
        await t.harness.dropSubscriptions!();
        for (const [index, listener] of listeners.entries()) {
          const saidDown = () => listener.health.slice(healthyBefore[index]).includes(false);
          assert.ok(
            await listener.until(saidDown, t.invalidationBound),
            `a subscriber ${listener.where} whose connection dropped did not say so (onHealth(false)) within ${t.invalidationBound} ms: its cache would trust what it may have missed`,
          );
          await listener.subscribed();
        }
        const published = await publishAll(t, [here]);
        for (const listener of elsewhere) await assertHeardAll(t, listener, published);
      } finally {
        await closeAll(listeners);
      }
    },
  },
];
