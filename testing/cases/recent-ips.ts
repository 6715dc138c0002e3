import assert from 'node:assert/strict';
import { planCheck } from '../../lib/check/token-checker';
import type { CheckedToken, CheckPlan, RecentIp, StoredToken } from '../../lib/store';
import type { CaseContext, ConformanceCase } from '../harness';
import { SECOND } from '../harness';

const IPS = ['203.0.113.1', '203.0.113.2', '2001:db8::3', '198.51.100.4', '203.0.113.5', '2001:db8::6'];
const TOUCH_INTERVAL = 60 * SECOND;

/**
 * The plan of a use from `ip` at `at`, as a service with `trackIp` makes it. The store applies the
 * plan's times as they are, so the cases move through seconds without waiting for them.
 */
function useFrom(token: StoredToken, ip: string | null, at: number, pending?: RecentIp[]): CheckPlan {
  return planCheck(token, at, TOUCH_INTERVAL, ip, pending);
}

/** The addresses a check reported added, in a stable order. */
const addedOf = (found: CheckedToken) => found.addedIps?.slice().sort();

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
        assert.deepEqual(found.addedIps, [ip], `${ip} reported as added`);
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
      assert.equal(found.addedIps, undefined, 'known: not added');
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
      assert.equal(soon.addedIps, undefined, 'within a second of the last write: not written');
      assert.equal(soon.lastUsedAt, start);
      assert.deepEqual(soon.recentIps, [{ ip: a, lastSeenAt: start }]);
      const second = await use(t, token, useFrom(token, b, start + SECOND));
      assert.deepEqual(second.addedIps, [b], 'a second after the last write: written');
      assert.equal(second.lastUsedAt, start + SECOND);
      const c1 = await use(t, token, useFrom(token, c, start + 1500));
      assert.equal(c1.addedIps, undefined, 'again within a second: not written');
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
      assert.deepEqual(
        found.flatMap((one) => one.addedIps ?? []).sort(),
        IPS.slice(0, 5).sort(),
        'each reported once',
      );
      const recent = (await recentOf(t, token))!;
      assert.deepEqual(recent.map((entry) => entry.ip).sort(), IPS.slice(0, 5).sort(), 'all five kept');
      // New addresses at once, a second later: the rule lets one of them write, only one.
      const racing = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6'];
      const later = start + SECOND;
      const raced = await Promise.all(racing.map((ip) => use(t, token, useFrom(token, ip, later))));
      const added = raced.flatMap((one) => one.addedIps ?? []);
      assert.equal(added.length, 1, 'one new address written');
      const after = (await recentOf(t, token))!;
      assert.equal(after.length, 5);
      assert.deepEqual(after[0], { ip: added[0], lastSeenAt: later }, 'it is first');
    },
  },
  {
    name: 'verify merges plan.pendingIps into recentIps with the next written use, whatever its cause, and reports those added',
    async run(t) {
      const token = t.record({ hard: 5 * TOUCH_INTERVAL });
      await t.create(token);
      const start = t.now();
      const [a, b, c, d, e, f] = IPS as [string, string, string, string, string, string];
      await use(t, token, useFrom(token, a, start));
      // Seen within the gap of that write: a check carrying them writes nothing before the gap is over.
      const waiting = [
        { ip: b, lastSeenAt: start + 200 },
        { ip: c, lastSeenAt: start + 400 },
      ];
      const early = await use(t, token, useFrom(token, a, start + 500, waiting));
      assert.equal(early.lastUsedAt, start, 'within the gap: nothing written');
      assert.equal(early.addedIps, undefined);
      assert.deepEqual(await recentOf(t, token), [{ ip: a, lastSeenAt: start }]);
      // A known address after the gap: the pending ones make the use due, merged by time.
      const next = start + SECOND;
      const known = await use(t, token, useFrom(token, a, next, waiting));
      assert.equal(known.lastUsedAt, next, 'pending addresses make the use due once the gap is over');
      assert.deepEqual(addedOf(known), [b, c].sort(), 'each pending address reported added');
      const afterKnown = [{ ip: a, lastSeenAt: next }, ...waiting.slice().reverse()];
      assert.deepEqual(known.recentIps, afterKnown, 'newest first, each at the time it was seen');
      assert.deepEqual(await recentOf(t, token), afterKnown, 'and stored so');
      // Known addresses again, within the touch interval: no pending, no write.
      const quiet = await use(t, token, useFrom(token, b, next + 5 * SECOND));
      assert.equal(quiet.lastUsedAt, next, 'a known address writes nothing');
      // The touch interval over, from a client without an address: pending ones still go in.
      const touch = next + TOUCH_INTERVAL;
      const anonymous = await use(
        t,
        token,
        useFrom(token, null, touch, [{ ip: d, lastSeenAt: touch - 300 }]),
      );
      assert.equal(anonymous.lastUsedAt, touch);
      assert.equal(anonymous.lastUsedIp, null);
      assert.deepEqual(anonymous.addedIps, [d]);
      // A new address, with a pending one and one already held (seen there later): five kept.
      const later = touch + SECOND;
      const pending = [
        { ip: a, lastSeenAt: start - SECOND },
        { ip: f, lastSeenAt: later - 100 },
      ];
      const fresh = await use(t, token, useFrom(token, e, later, pending));
      assert.deepEqual(addedOf(fresh), [e, f].sort(), 'the new address and the pending one');
      const expected = [
        { ip: e, lastSeenAt: later },
        { ip: f, lastSeenAt: later - 100 },
        { ip: d, lastSeenAt: touch - 300 },
        { ip: a, lastSeenAt: next },
        { ip: c, lastSeenAt: start + 400 },
      ];
      assert.deepEqual(
        fresh.recentIps,
        expected,
        'an older sighting does not move a held address; b is gone',
      );
      assert.deepEqual(await recentOf(t, token), expected);
      // Pending addresses older than all five held: merged and cut, none reported.
      const stale = [{ ip: b, lastSeenAt: start }];
      const cut = await use(t, token, useFrom(token, e, later + SECOND, stale));
      assert.equal(cut.lastUsedAt, later + SECOND, 'due: written');
      assert.equal(cut.addedIps, undefined, 'older than the five kept: not added');
      assert.deepEqual(cut.recentIps, [{ ip: e, lastSeenAt: later + SECOND }, ...expected.slice(1)]);
    },
  },
  {
    name: 'parallel verifies carrying pending IPs: the one that writes puts them all on record, reported once',
    async run(t) {
      const token = t.record({ hard: 5 * TOUCH_INTERVAL });
      await t.create(token);
      const start = t.now();
      const [a, b, c] = IPS as [string, string, string];
      await use(t, token, useFrom(token, a, start));
      const next = start + SECOND;
      const pending = [
        { ip: b, lastSeenAt: start + 100 },
        { ip: c, lastSeenAt: start + 200 },
      ];
      const found = await Promise.all(
        Array.from({ length: 6 }, () => use(t, token, useFrom(token, a, next, pending))),
      );
      assert.deepEqual(found.flatMap((one) => one.addedIps ?? []).sort(), [b, c].sort(), 'each added once');
      assert.deepEqual(await recentOf(t, token), [
        { ip: a, lastSeenAt: next },
        { ip: c, lastSeenAt: start + 200 },
        { ip: b, lastSeenAt: start + 100 },
      ]);
    },
  },
  {
    name: 'verify merges plan.pendingIps into a record whose hard limit was brought forward',
    async run(t) {
      const token = t.record({ hard: 5 * TOUCH_INTERVAL });
      await t.create(token);
      const start = t.now();
      assert.ok(await t.store.limit(token.id, start + TOUCH_INTERVAL), 'limited');
      const [a, b] = IPS as [string, string];
      await use(t, token, useFrom(token, a, start));
      const next = start + SECOND;
      const found = await use(t, token, useFrom(token, a, next, [{ ip: b, lastSeenAt: start + 300 }]));
      assert.deepEqual(found.addedIps, [b]);
      const expected = [
        { ip: a, lastSeenAt: next },
        { ip: b, lastSeenAt: start + 300 },
      ];
      assert.deepEqual(found.recentIps, expected);
      assert.deepEqual(await recentOf(t, token), expected);
      assert.equal((await t.store.get(token.id))?.hardExpiresAt, start + TOUCH_INTERVAL, 'still limited');
    },
  },
];
