/**
 * The walk that revokes a token's descendants (see docs/lifecycle.md, "Child tokens"): the service
 * revokes the token itself first, then this lists and revokes what descends from it, depth-first.
 *
 * Why no descendant outlives a revoked ancestor, whatever the interleaving (on a linearizable store):
 * - a token is made (`issueFor`, `rotate` by a token) by writing its entries in its ancestors'
 *   indexes, then its record, then re-reading its ancestors (those that were live before it was
 *   made); if one is gone, the new token is withdrawn and the request fails;
 * - a revocation deletes each token *before* it lists that token's descendants, and lists it again
 *   after each batch it revoked, until a listing finds none live.
 * Take a child C made by P while an ancestor of P (or P itself) is being revoked. The walk reaches P
 * (its entry lives as long as P does) and deletes it at some time d, then lists P's index at some
 * later time l. C's maker re-reads P at some time r, after C's record exists. If r > d, P is gone:
 * C is withdrawn. If r < d, C's record existed before d < l, and its entry before its record: the
 * listing at l finds C live, and revokes it. Either way C dies.
 *
 * Bounded: at most `MAX_FAMILY_REVOCATIONS` tokens per call, and as many listings as tokens revoked
 * plus one per node walked. Idempotent: a walk that stopped (store failure, bound reached) leaves
 * the revoked ones revoked and listed no more; the next one, started from the same token even once
 * it is gone itself, revokes the rest.
 */
import type { StoredToken } from '../store';

/** The most tokens one revocation revokes along with the token; a larger family takes more calls. */
export const MAX_FAMILY_REVOCATIONS = 10_000;

/** How many descendants one listing asks for. */
export const FAMILY_BATCH = 100;

/** What the walk needs: listing an ancestor's index, and revoking a batch (as `revoke` does each). */
export interface FamilyStore {
  list(ancestorId: string, limit: number): Promise<string[]>;
  /**
   * Revokes these tokens: per token, the revoked record or null if it was not live (or its revocation
   * failed), and the failure of any that failed.
   */
  revoke(ids: string[]): Promise<{ found: (StoredToken | null)[]; failure?: unknown }>;
}

/** Why a walk stopped before its end (see `FamilyRevocationIncompleteError`). */
export class FamilyWalkStopped extends Error {
  constructor(
    readonly revoked: number,
    readonly reason: string,
    override readonly cause?: unknown,
  ) {
    super(reason);
  }
}

/**
 * Revokes every live descendant of `rootId`, depth-first: a token's descendants before the next of
 * its siblings. Returns how many it revoked; throws `FamilyWalkStopped` with that count if the store
 * failed or the family exceeded `MAX_FAMILY_REVOCATIONS`.
 */
export async function revokeDescendants(rootId: string, store: FamilyStore): Promise<number> {
  let revoked = 0;
  let listings = 0;
  const stack = [rootId];
  while (stack.length > 0) {
    const node = stack.at(-1)!;
    // Each listing but a node's last revokes at least one token, or all of a batch died meanwhile.
    if (++listings > 2 * MAX_FAMILY_REVOCATIONS)
      throw new FamilyWalkStopped(revoked, `listing ${2 * MAX_FAMILY_REVOCATIONS} times`);
    let ids: string[];
    let found: (StoredToken | null)[];
    let failure: unknown;
    try {
      ids = await store.list(node, FAMILY_BATCH);
      if (ids.length === 0) {
        stack.pop();
        continue;
      }
      if (revoked + ids.length > MAX_FAMILY_REVOCATIONS)
        throw new FamilyWalkStopped(revoked, `reaching the bound of ${MAX_FAMILY_REVOCATIONS} per call`);
      ({ found, failure } = await store.revoke(ids));
    } catch (error) {
      if (error instanceof FamilyWalkStopped) throw error;
      throw new FamilyWalkStopped(revoked, 'the token store failed', error);
    }
    const taken = found.filter((token): token is StoredToken => token !== null);
    revoked += taken.length;
    if (failure !== undefined) throw new FamilyWalkStopped(revoked, 'the token store failed', failure);
    // Listed live, gone by the time of its delete (expired, revoked by another call): a node whose
    // listing ended, and revoked none of it, is done; otherwise it is listed again after its
    // descendants' turn, for what was made meanwhile.
    if (taken.length === 0 && ids.length < FAMILY_BATCH) stack.pop();
    for (const token of taken) stack.push(token.id);
  }
  return revoked;
}
