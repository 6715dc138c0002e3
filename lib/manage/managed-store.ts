import { CallDeadlines, type TokenChecker } from '../check/token-checker';
import { type StoredToken, TOMBSTONE_LIFE, type TokenStore } from '../store';

/**
 * The store as issuing, listing and revoking call it: every call under a deadline, those that take
 * access away under the longer one of revocations (which may wait for the store's replicas), this
 * process's cached checks dropped and every other process's told. What lib/manage/ decides, it applies
 * through here.
 */
export class ManagedStore {
  readonly store: TokenStore;
  readonly now: () => number;
  readonly #checker: TokenChecker;
  readonly #deadlines: CallDeadlines;
  /** For calls that take access away: they may wait for the store's replicas as well. */
  readonly #revocationDeadlines: CallDeadlines;

  constructor(checker: TokenChecker, now: () => number) {
    this.store = checker.store;
    this.now = now;
    this.#checker = checker;
    this.#deadlines = checker.deadlines;
    this.#revocationDeadlines = new CallDeadlines(checker.deadlines.ms + (checker.store.revocationWait ?? 0));
  }

  /** A store call under the deadline of every call (`timeout`). */
  call<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return this.#deadlines.run(operation, call);
  }

  /**
   * Tells every process's cache, this one's at once, that these tokens changed. A revocation
   * resolves only once published: if the publish fails, the call rejects (the store has the change;
   * other caches drop the token within `maxStale`, and calling again publishes again).
   */
  async announce(ids: readonly string[]): Promise<void> {
    this.#checker.forget(ids);
    const channel = this.store.invalidations;
    if (channel !== undefined && ids.length > 0)
      await this.#revocationDeadlines.run('publish', () => channel.publish(ids));
  }

  /**
   * A store call that takes access away from these tokens, under the longer deadline of those (see
   * `timeout`). This process's cache drops them however it ends: a call that failed or was late may
   * still have been applied (its reply lost), and the cache must not go on accepting them meanwhile.
   */
  async takeAway<T>(ids: readonly string[], operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await this.#revocationDeadlines.run(operation, call);
    } finally {
      this.#checker.forget(ids);
    }
  }

  /** Revokes a token in the store, under the revocation deadline. */
  revoke(id: string): Promise<StoredToken | null> {
    return this.takeAway([id], 'revoke', () => this.delete(id));
  }

  /** The store's `delete` with the tombstone every revocation leaves (`TOMBSTONE_LIFE`), no deadline. */
  delete(id: string): Promise<StoredToken | null> {
    return this.store.delete(id, this.now() + TOMBSTONE_LIFE);
  }

  /**
   * Revokes a token whose text nobody received (that of an issue or a rotation that failed) once
   * `made` says it may exist, so that a request that fails leaves no token behind, working or
   * counting against the user's limit. Waits as long as a revocation may; a store still silent then
   * has it revoked whenever it answers. A revocation that fails too changes nothing to report: the
   * store is down, and the token, whose text nobody has, expires.
   */
  async withdraw(id: string, made: Promise<boolean>): Promise<void> {
    const withdrawn = made.then((exists) => (exists ? this.delete(id) : null));
    await this.#revocationDeadlines.run('withdraw', () => withdrawn).catch(() => {});
  }
}
