import { isRevoked, storeFailure } from '../check/token-checker';
import { FamilyRevocationIncompleteError, RevokeAllIncompleteError, StoreUnavailableError } from '../errors';
import { emit, type OnEvent } from '../events';
import type { StoredToken } from '../store';
import { hashesMatch, isTokenId, parseToken } from '../token-format';
import { BATCH_SIZE } from '../token-page';
import { FamilyWalkStopped, revokeDescendants } from './family-revocation';
import { type LeakVerdict, leakSource, type RevokeLeakedOptions } from './leak-source';
import type { ManagedStore } from './managed-store';

/**
 * Taking tokens away: one and its descendants, one whose text leaked, all of a user's. Each
 * revocation is announced to every process's cache before it resolves, and reported (`revoked`).
 */
export class TokenRevoker {
  readonly #calls: ManagedStore;
  readonly #tokenPrefix: string;
  readonly #onEvent: OnEvent | undefined;

  constructor(calls: ManagedStore, settings: { tokenPrefix: string; onEvent: OnEvent | undefined }) {
    this.#calls = calls;
    this.#tokenPrefix = settings.tokenPrefix;
    this.#onEvent = settings.onEvent;
  }

  async revoke(id: string): Promise<boolean> {
    return (await this.#revokeWithFamily(id)).itself;
  }

  async revokeFamily(id: string): Promise<number> {
    return (await this.#revokeWithFamily(id)).count;
  }

  async #revokeWithFamily(id: string): Promise<{ itself: boolean; count: number }> {
    if (!isTokenId(id)) return { itself: false, count: 0 };
    const revoked = await this.#calls.revoke(id);
    // Also when there was nothing to revoke: a retry after a failed publish publishes again.
    await this.#calls.announce([id]);
    if (revoked)
      emit(this.#onEvent, {
        type: 'revoked',
        time: new Date(this.#calls.now()),
        tokenId: id,
        login: revoked.user,
      });
    const itself = revoked !== null;
    try {
      return { itself, count: (itself ? 1 : 0) + (await this.#revokeDescendants(id)) };
    } catch (error) {
      if (!(error instanceof FamilyWalkStopped)) throw error;
      const count = error.revoked + (itself ? 1 : 0);
      throw new FamilyRevocationIncompleteError(id, count, error.reason, error.cause);
    }
  }

  /**
   * Revokes the live descendants of a token already revoked (or gone), each as `revoke` does one:
   * under the revocation deadline, announced to the caches, with a `revoked` event naming the
   * ancestor. Returns how many; throws `FamilyWalkStopped` (see lib/manage/family-revocation.ts).
   */
  #revokeDescendants(ancestorId: string): Promise<number> {
    const store = this.#calls.store;
    if (!store.listDescendants) return Promise.resolve(0);
    return revokeDescendants(ancestorId, {
      list: (id, limit) => this.#calls.call('listDescendants', () => store.listDescendants!(id, limit)),
      revoke: async (ids) => {
        // Each under its own deadline: one that is late must not hide those that were revoked.
        const settled = await Promise.allSettled(ids.map((id) => this.#calls.revoke(id)));
        const time = new Date(this.#calls.now());
        const found = settled.map((result) => (result.status === 'fulfilled' ? result.value : null));
        // A listing holds descendants of any depth: their events come nearest first.
        const depth = (token: StoredToken) => token.ancestorIds?.length ?? 0;
        const revoked = found.filter((token): token is StoredToken => token !== null);
        for (const token of revoked.sort((a, b) => depth(a) - depth(b)))
          emit(this.#onEvent, { type: 'revoked', time, tokenId: token.id, login: token.user, ancestorId });
        const failed = settled.find((result) => result.status === 'rejected');
        let failure: unknown = failed && storeFailure('revoke', failed.reason);
        try {
          await this.#calls.announce(ids);
        } catch (error) {
          failure ??= error;
        }
        return { found, failure };
      },
    });
  }

  async revokeLeaked(text: string, options: RevokeLeakedOptions): Promise<LeakVerdict> {
    const source = leakSource(options, this.#tokenPrefix);
    const parsed = parseToken(text, this.#tokenPrefix);
    if (typeof parsed === 'string') return 'unknown';
    const found = await this.#calls.call('get', () => this.#calls.store.get(parsed.id));
    if (found !== null) {
      if (!hashesMatch(found.secretHash, parsed.secretHash) || found.expiresAt <= this.#calls.now())
        return 'unknown';
      // The text is the live token's; false means another call took it away meanwhile.
      if (!(await this.revoke(parsed.id))) return 'already-revoked';
      emit(this.#onEvent, {
        type: 'leaked',
        time: new Date(this.#calls.now()),
        tokenId: parsed.id,
        login: found.user,
        source,
      });
      return 'revoked';
    }
    // No live record: `verify` is the store's only read of a tombstone, and writes nothing without a
    // live record (nor would this plan move an expiry); ids are never live again once gone.
    const plan = { now: this.#calls.now(), expiresAt: null, touchIfBefore: 0 };
    const gone = await this.#calls.call('verify', () =>
      this.#calls.store.verify(parsed.id, parsed.secretHash, plan),
    );
    if (gone === null || !isRevoked(gone)) return 'unknown';
    // Revoked before, but a leak report is a reason to make sure: revoking again changes nothing of
    // the token's, and finishes whatever goes with it that an earlier revocation may have left undone
    // (its announcement to the caches, its descendants).
    await this.revoke(parsed.id);
    return 'already-revoked';
  }

  async revokeAll(user: string): Promise<number> {
    let revoked = 0;
    let cursor: string | null = null;
    try {
      do {
        const page = await this.#calls.call('list', () =>
          this.#calls.store.listPage(user, { cursor, limit: BATCH_SIZE }),
        );
        const ids = page.tokens.map((token) => token.id);
        const settled = await this.#calls.takeAway(ids, 'revokeAll', () =>
          Promise.allSettled(page.tokens.map((token) => this.#calls.delete(token.id))),
        );
        const time = new Date(this.#calls.now());
        for (const result of settled) {
          if (result.status !== 'fulfilled' || result.value === null) continue;
          revoked++;
          emit(this.#onEvent, { type: 'revoked', time, tokenId: result.value.id, login: user });
        }
        await this.#calls.announce(ids);
        const failed = settled.find((result) => result.status === 'rejected');
        if (failed) throw storeFailure('revokeAll', failed.reason);
        // Each token's family goes with it, whoever its members belong to.
        for (const result of settled) {
          if (result.status !== 'fulfilled' || result.value === null) continue;
          try {
            revoked += await this.#revokeDescendants(result.value.id);
          } catch (error) {
            if (!(error instanceof FamilyWalkStopped)) throw error;
            revoked += error.revoked;
            throw error.cause instanceof StoreUnavailableError
              ? error.cause
              : new StoreUnavailableError(`Revoking a token's family stopped on ${error.reason}`);
          }
        }
        cursor = page.cursor;
      } while (cursor !== null);
    } catch (error) {
      if (revoked === 0 || !(error instanceof StoreUnavailableError)) throw error;
      throw new RevokeAllIncompleteError(user, revoked, error);
    }
    return revoked;
  }
}
