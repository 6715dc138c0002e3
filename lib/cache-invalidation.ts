import { isTokenId } from './token-format';

/**
 * How the processes that share a store tell each other that tokens changed (revoked, rotated, their
 * hard limit brought forward), so that each drops them from its cache. A store offers one as its
 * optional `invalidations` member; the token service's cache works only on a store that does.
 */
export interface InvalidationChannel {
  /**
   * Tells every subscriber, in every process, that these tokens changed; this process's subscribers
   * before it resolves (a revocation that resolved must be refused by every service here at once).
   */
  publish(ids: readonly string[]): Promise<void>;
  /**
   * Calls `onIds` with the ids of each message, and `onHealth(true)` once the subscription is in
   * place, `onHealth(false)` as soon as it may have missed a message (its connection dropped): from
   * then until the next `onHealth(true)`, nothing this subscription says can be relied on.
   */
  subscribe(onIds: (ids: string[]) => void, onHealth: (healthy: boolean) => void): InvalidationSubscription;
}

export interface InvalidationSubscription {
  /** Ends the subscription (and closes its connection, if it has one of its own). */
  close(): Promise<void>;
}

/** One message: the ids, comma-separated (an id is 16 hex digits, so nothing needs escaping). */
export function encodeInvalidation(ids: readonly string[]): string {
  return ids.join(',');
}

/** The ids of a message; anything that is not an id is dropped (the channel is not trusted to be ours). */
export function decodeInvalidation(text: string): string[] {
  return text.split(',').filter(isTokenId);
}

/**
 * The channel of a store that lives in one process (the memory store): every service on it sees
 * every message at once, and the subscription never drops.
 */
export class InProcessInvalidations implements InvalidationChannel {
  readonly #listeners = new Set<(ids: string[]) => void>();

  async publish(ids: readonly string[]): Promise<void> {
    for (const listener of this.#listeners) listener([...ids]);
  }

  subscribe(onIds: (ids: string[]) => void, onHealth: (healthy: boolean) => void): InvalidationSubscription {
    this.#listeners.add(onIds);
    onHealth(true);
    return {
      close: async () => {
        this.#listeners.delete(onIds);
        onHealth(false);
      },
    };
  }
}
