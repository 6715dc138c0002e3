import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeCase } from '../testing/case-verdict';
import type { ConformanceReport } from '../testing/check-token-store';

const NAME = 'failover: a case for an optional part';
const report = (outcome: 'passed' | 'skipped' | 'failed' | 'none'): ConformanceReport => ({
  passed: outcome === 'passed' ? [NAME] : [],
  skipped: outcome === 'skipped' ? [NAME] : [],
  failed: outcome === 'failed' ? [{ name: NAME, error: new Error('the store broke the rule') }] : [],
});

test('a case whose part is missing fails unless declared notOffered: nothing is skipped silently', () => {
  assert.throws(() => judgeCase(NAME, report('skipped'), false), /name the case in notOffered/);
  assert.doesNotThrow(() => judgeCase(NAME, report('skipped'), true));
});

test('a part declared notOffered that the store offers fails, so the declaration stays true', () => {
  assert.throws(() => judgeCase(NAME, report('passed'), true), /declared notOffered, yet/);
});

test("a failed case fails with the case's own error, declared or not; a case that did not run fails", () => {
  assert.throws(() => judgeCase(NAME, report('failed'), false), /the store broke the rule/);
  assert.throws(() => judgeCase(NAME, report('failed'), true), /the store broke the rule/);
  assert.throws(() => judgeCase(NAME, report('none'), false), /did not run/);
  assert.doesNotThrow(() => judgeCase(NAME, report('passed'), false));
});
