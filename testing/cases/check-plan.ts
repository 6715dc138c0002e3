import assert from 'node:assert/strict';
import type { ConformanceCase } from '../harness';
import { SECOND, SLACK } from '../harness';

/** verify applying the service's plan: expiry, last use, IP. */
export const checkPlanCases: ConformanceCase[] = [
  {
    name: "verify moves a sliding token's expiry to plan.expiresAt",
    async run(t) {
      const token = t.record({ window: 3 * SECOND, hard: null });
      await t.create(token);
      await t.advance(1 * SECOND);
      const plan = t.plan(token);
      const verified = await t.verifyLive(token, plan);
      assert.ok(verified, 'live');
      assert.equal(
        verified.expiresAt,
        plan.expiresAt,
        'the record as it is after: expiresAt = plan.expiresAt',
      );
      const stored = (await t.store.get(token.id))!;
      assert.ok(Math.abs(stored.expiresAt - plan.expiresAt!) <= SLACK, 'stored');
      await t.advance(2 * SECOND);
      assert.ok(await t.store.get(token.id), 'live past its first expiry');
    },
  },
  {
    name: 'verify of a token with only a hard limit keeps its expiry (plan.expiresAt null)',
    async run(t) {
      const token = t.record({ hard: 60 * SECOND });
      await t.create(token);
      const plan = t.plan(token);
      assert.equal(plan.expiresAt, null);
      const verified = await t.verifyLive(token, plan);
      assert.equal(verified?.expiresAt, token.expiresAt, 'unchanged');
      assert.ok(Math.abs((await t.store.get(token.id))!.expiresAt - token.expiresAt) <= SLACK);
    },
  },
  {
    name: 'verify writes lastUsedAt = plan.now when none or at most plan.touchIfBefore, and only then',
    async run(t) {
      const token = t.record();
      await t.create(token);
      const first = t.plan(token, { touchInterval: SECOND });
      assert.equal((await t.verifyLive(token, first))?.lastUsedAt, first.now, 'written on first use');
      assert.equal((await t.store.get(token.id))?.lastUsedAt, first.now, 'and stored');
      await t.advance(200);
      const second = t.plan(token, { touchInterval: SECOND });
      assert.ok(second.touchIfBefore < first.now);
      assert.equal(
        (await t.verifyLive(token, second))?.lastUsedAt,
        first.now,
        'not rewritten within the interval',
      );
      const third = { ...t.plan(token), touchIfBefore: first.now };
      assert.equal((await t.verifyLive(token, third))?.lastUsedAt, third.now, 'rewritten at touchIfBefore');
      assert.equal((await t.store.get(token.id))?.lastUsedAt, third.now);
    },
  },
  {
    name: 'verify stores plan.ip with a written use; undefined keeps it; null clears it',
    async run(t) {
      const token = t.record();
      await t.create(token);
      const withIp = t.plan(token, { ip: '203.0.113.7' });
      assert.equal((await t.verifyLive(token, withIp))?.lastUsedIp, '203.0.113.7');
      assert.equal((await t.store.get(token.id))?.lastUsedIp, '203.0.113.7');
      const keep = { ...t.plan(token), touchIfBefore: t.now() + SECOND };
      assert.equal((await t.verifyLive(token, keep))?.lastUsedIp, '203.0.113.7', 'undefined keeps it');
      const cleared = { ...t.plan(token, { ip: null }), touchIfBefore: t.now() + SECOND };
      assert.equal((await t.verifyLive(token, cleared))?.lastUsedIp, null, 'null clears it');
      assert.equal((await t.store.get(token.id))?.lastUsedIp, null);
      const notDue = t.plan(token, { ip: '198.51.100.1' });
      assert.equal((await t.verifyLive(token, notDue))?.lastUsedIp, null, 'no IP without a written use');
    },
  },
];
