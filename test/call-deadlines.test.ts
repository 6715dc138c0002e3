import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CallDeadlines } from '../lib/check/token-checker';
import { StoreUnavailableError } from '../lib/errors';

const never = () => new Promise<never>(() => {});

// Deadline timers never hold a process open, by design (a script exits once its work is done): these
// tests, which wait for deadlines to pass, hold it open themselves.
let hold: NodeJS.Timeout;
before(() => {
  hold = setInterval(() => {}, 60_000);
});
after(() => clearInterval(hold));

test('calls that answer resolve; calls that hang reject with StoreUnavailableError, each in turn', async () => {
  const deadlines = new CallDeadlines(30);
  const outcomes = await Promise.allSettled([
    deadlines.run('verify', async () => 'first'),
    deadlines.run('verify', never),
    deadlines.run('verify', () => new Promise((resolve) => setImmediate(() => resolve('late but in time')))),
    deadlines.run('list', never),
  ]);
  assert.deepEqual(
    outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).constructor.name)),
    ['first', 'StoreUnavailableError', 'late but in time', 'StoreUnavailableError'],
  );
  assert.match((outcomes[3] as PromiseRejectedResult).reason.message, /did not answer list within 30 ms/);
});

test('a failing call becomes StoreUnavailableError naming the operation, with the cause kept', async () => {
  const deadlines = new CallDeadlines(1000);
  const cause = new Error('connect ECONNREFUSED');
  await assert.rejects(
    deadlines.run('revoke', () => Promise.reject(cause)),
    (error: unknown) =>
      error instanceof StoreUnavailableError && /during revoke/.test(error.message) && error.cause === cause,
  );
  await assert.rejects(
    deadlines.run('revoke', () => {
      throw cause;
    }),
    StoreUnavailableError,
  );
});

test('later calls still get their own deadline after earlier ones expired (each its own timer)', async () => {
  const deadlines = new CallDeadlines(20);
  await assert.rejects(deadlines.run('a', never), StoreUnavailableError);
  const again = await Promise.allSettled([deadlines.run('b', never), deadlines.run('c', async () => 'ok')]);
  assert.equal(again[0].status, 'rejected');
  assert.deepEqual(again[1], { status: 'fulfilled', value: 'ok' });
});

test('an answer after the deadline is dropped: the call stays refused', async () => {
  const deadlines = new CallDeadlines(20);
  let answer: (value: string) => void = () => {};
  const call = deadlines.run('verify', () => new Promise<string>((resolve) => (answer = resolve)));
  await assert.rejects(call, /Token store did not answer verify within 20 ms/);
  answer('too late');
  await assert.rejects(call, StoreUnavailableError);
});
