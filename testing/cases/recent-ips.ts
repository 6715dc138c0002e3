import assert from 'node:assert/strict';
import { planCheck } from '../../lib/check-plan';
import type { CheckPlan, StoredToken } from '../../lib/store';
import type { CaseContext, ConformanceCase } from '../harness';
import { SECOND } from '../harness';

const IPS = ['203.0.113.1', '203.0.113.2', '2001:db8::3', '198.51.100.4', '203.0.113.5', '2001:db8::6'];
const TOUCH_INTERVAL = 60 * SECOND;

/**
 * The plan of a use from `ip` at `at`, as a service with `trackIp` makes it. The store applies the
 * plan's times as they are, so the cases move through seconds without waiting for them.
 */
function useFrom(token: StoredToken, ip: string | null, at: number): CheckPlan {
  return planCheck(token, at, TOUCH_INTERVAL, ip);
}

async function use(t: CaseContext, token: StoredToken, plan: CheckPlan) {
  const found = await t.verifyLive(token, plan);
  assert.ok(found, 'live');
  return found;
}

/** The recent IPs the store holds for a token (as `get` reads them). */
async function recentOf(t: CaseContext, token: StoredToken) {
  return (await t.store.get(token.id))?.recentIps;
}

/** verify keeping a token's recent client IPs (`trackIp`): which, in what order, and how often written. */
export const recentIpCases: ConformanceCase[] = [
  {
    name: 'verify keeps the 5 most recent distinct IPs of written uses, newest first, and reports each added one',
    async run(t) {
      const token = t.record({ hard: 5 * TOUCH_INTERVAL });
      await t.create(token);
      assert.deepEqual((await t.store.get(token.id))?.recentIps, [], 'none at first');
      const start = t.now();
      for (const [i, ip] of IPS.entries()) {
        const at = start + i * SECOND;
        const found = await use(t, token, useFrom(token, ip, at));
        assert.deepEqual(found.recentIps[0], { ip, lastSeenAt: at }, `${ip} first, as of its use`);
        assert.equal(found.addedIp, ip, `${ip} reported as added`);
        assert.equal(found.lastUsedAt, at);
        assert.equal(found.lastUsedIp, ip);
      }
      const expected = IPS.slice(1)
        .map((ip, i) => ({ ip, lastSeenAt: start + (i + 1) * SECOND }))
        .reverse();
      assert.deepEqual(
        await recentOf(t, token),
        expected,
        'the five newest, newest first: the oldest is gone',
      );
    },
  },
  {
    name: 'verify moves a known IP to the front with its new time, without reporting it added',
    async run(t) {
      const token = t.record({ hard: 5 * TOUCH_INTERVAL });
      await t.create(token);
      const start = t.now();
      for (const [i, ip] of IPS.slice(0, 3).entries())
        await use(t, token, useFrom(token, ip, start + i * SECOND));
      // The touch interval over: a use from the first address is written, and it moves to the front.
      const again = start + 2 * SECOND + TOUCH_INTERVAL;
      const found = await use(t, token, useFrom(token, IPS[0]!, again));
      assert.equal(found.addedIp, undefined, 'known: not added');
      const expected = [
        { ip: IPS[0]!, lastSeenAt: again },
        { ip: IPS[2]!, lastSeenAt: start + 2 * SECOND },
        { ip: IPS[1]!, lastSeenAt: start + SECOND },
      ];
      assert.deepEqual(found.recentIps, expected, 'moved to the front, once');
      assert.deepEqual(await recentOf(t, token), expected, 'and stored so');
      // A client without an address: its use is written (lastUsedIp null), the recent IPs stay.
      const later = again + TOUCH_INTERVAL;
      const anonymous = await use(t, token, useFrom(token, null, later));
      assert.equal(anonymous.lastUsedAt, later);
      assert.equal(anonymous.lastUsedIp, null);
      assert.deepEqual(await recentOf(t, token), expected, 'no address, no change to the recent IPs');
    },
  },
  {
    name: 'verify writes a new IP at once, but not before plan.newIpIfBefore; a known IP waits for touchIfBefore',
    async run(t) {
      const token = t.record({ hard: 5 * TOUCH_INTERVAL });
      await t.create(token);
      const start = t.now();
      const [a, b, c] = IPS as [string, string, string];
      await use(t, token, useFrom(token, a, start));
      const soon = await use(t, token, useFrom(token, b, start + 500));
      assert.equal(soon.addedIp, undefined, 'within a second of the last write: not written');
      assert.equal(soon.lastUsedAt, start);
      assert.deepEqual(soon.recentIps, [{ ip: a, lastSeenAt: start }]);
      const second = await use(t, token, useFrom(token, b, start + SECOND));
      assert.equal(second.addedIp, b, 'a second after the last write: written');
      assert.equal(second.lastUsedAt, start + SECOND);
      const c1 = await use(t, token, useFrom(token, c, start + 1500));
      assert.equal(c1.addedIp, undefined, 'again within a second: not written');
      for (const at of [start + 3 * SECOND, start + 30 * SECOND]) {
        const known = await use(t, token, useFrom(token, a, at));
        assert.equal(
          known.lastUsedAt,
          start + SECOND,
          'a known address writes nothing within the touch interval',
        );
      }
      const noRule = { ...useFrom(token, c, start + 40 * SECOND), newIpIfBefore: undefined };
      const withoutRule = await use(t, token, noRule);
      assert.equal(withoutRule.lastUsedAt, start + SECOND, 'without newIpIfBefore, a new address waits too');
      assert.deepEqual(await recentOf(t, token), [
        { ip: b, lastSeenAt: start + SECOND },
        { ip: a, lastSeenAt: start },
      ]);
    },
  },
  {
    name: 'parallel verifies from different IPs: none is lost to another, and the rate rule writes one',
    async run(t) {
      const token = t.record({ hard: 5 * TOUCH_INTERVAL });
      await t.create(token);
      const start = t.now();
      // Every use due (touchIfBefore = now): each must land in the list, whatever their order.
      const due = IPS.slice(0, 5).map((ip) => ({ ...useFrom(token, ip, start), touchIfBefore: start }));
      const found = await Promise.all(due.map((plan) => use(t, token, plan)));
      assert.deepEqual(found.map((one) => one.addedIp).sort(), IPS.slice(0, 5).sort(), 'each reported once');
      const recent = (await recentOf(t, token))!;
      assert.deepEqual(recent.map((entry) => entry.ip).sort(), IPS.slice(0, 5).sort(), 'all five kept');
      // New addresses at once, a second later: the rule lets one of them write, only one.
      const racing = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6'];
      const later = start + SECOND;
      const raced = await Promise.all(racing.map((ip) => use(t, token, useFrom(token, ip, later))));
      const added = raced.map((one) => one.addedIp).filter((ip) => ip !== undefined);
      assert.equal(added.length, 1, 'one new address written');
      const after = (await recentOf(t, token))!;
      assert.equal(after.length, 5);
      assert.deepEqual(after[0], { ip: added[0], lastSeenAt: later }, 'it is first');
    },
  },
];
