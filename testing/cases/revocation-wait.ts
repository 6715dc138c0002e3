import assert from 'node:assert/strict';
import { isRevoked } from '../../lib/check/token-checker';
import type { ConformanceCase } from '../harness';
import { SECOND } from '../harness';

/**
 * How long the case lets the creates reach the replicas before it revokes, so that what the failover
 * then decides is the revocation's own durability, not the create's.
 */
const REPLICATION_TIME = 200;

/** Revocations across a failover (`TokenStore.revocationWait`), for a harness that can fail the store over. */
export const revocationWaitCases: ConformanceCase[] = [
  {
    name: 'failover: a delete or limit that resolved still holds once the primary is lost (revocationWait)',
    // Whatever the store says of its wait: a harness that can fail it over says it has replicas.
    appliesTo: (_store, harness) => harness.failover !== undefined,
    async run(t) {
      const user = t.user();
      const revoked = t.record({ hard: 60 * SECOND }, { user });
      const limited = t.record({ hard: 60 * SECOND }, { user });
      await t.create(revoked, limited);
      await t.advance(REPLICATION_TIME);
      const limitAt = t.now() + 30 * SECOND;
      assert.equal((await t.store.delete(revoked.id, t.now() + 60 * SECOND))?.id, revoked.id);
      assert.equal(await t.store.limit(limited.id, limitAt), true);
      const after = await t.harness.failover!();
      const found = await after.verify(revoked.id, revoked.secretHash, t.plan(revoked));
      assert.ok(
        found !== null && isRevoked(found),
        `a revocation that resolved was lost in the failover (verify found ${found === null ? 'nothing' : 'the live record'}): the store said it was done before a replica had it`,
      );
      const kept = await after.get(limited.id);
      assert.ok(
        kept !== null && kept.hardExpiresAt !== null && kept.hardExpiresAt <= limitAt,
        'a limit that resolved was lost in the failover: the store said it was done before a replica had it',
      );
    },
  },
];
