import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeDuration } from '../lib/duration';
import { formatDuration, InvalidDurationError, parseDuration } from '../lib/index';

test('parses the seed format: a whole count and one unit of s, m, h or d', () => {
  assert.equal(parseDuration('20s'), 20_000);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration(1500), 1500);
});

test('refuses everything else with a message naming the accepted form', () => {
  for (const bad of [
    '1.5d',
    '-5m',
    '0s',
    '10x',
    '',
    '24 h',
    ' 24h',
    '24H',
    '1e3s',
    '010m',
    'm',
    '1d2h',
    '0',
    '010',
    '10 ',
    '+10',
    '10.0',
    '1e4',
    '0x10',
    '5ms ',
    'ms',
  ]) {
    assert.throws(
      () => parseDuration(bad),
      (error: unknown) =>
        error instanceof InvalidDurationError &&
        error.code === 'ERR_INVALID_DURATION' &&
        /whole number followed by s, m, h or d/.test(error.message),
      `should refuse ${JSON.stringify(bad)}`,
    );
  }
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => parseDuration(bad), InvalidDurationError);
  }
  assert.throws(() => parseDuration(null as unknown as string), InvalidDurationError);
  assert.throws(() => parseDuration('9999999999999999d'), InvalidDurationError);
});

test('a bare whole number is milliseconds, as a number or as a string, the same everywhere', () => {
  assert.equal(parseDuration('60000'), 60_000);
  assert.equal(parseDuration(60_000), 60_000);
  assert.equal(parseDuration('1500ms'), 1500);
  assert.equal(parseDuration('1'), 1);
  assert.throws(() => parseDuration('99999999999999999'), InvalidDurationError);
});

test('what formatDuration writes, parseDuration reads back', () => {
  for (const ms of [1, 1500, 90_000, 600_000, 86_400_000, 3_541_631]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});

test('describes a length readably, in at most two units, rounded down to the second', () => {
  assert.equal(describeDuration(3_541_631), '59m 1s');
  assert.equal(describeDuration(90_000_000), '1d 1h');
  assert.equal(describeDuration(86_400_000), '1d');
  assert.equal(describeDuration(3_600_000 + 5_000), '1h');
  assert.equal(describeDuration(1_500), '1s');
  assert.equal(describeDuration(999), '999ms');
});

test('formats in the largest exact unit', () => {
  assert.equal(formatDuration(600_000), '10m');
  assert.equal(formatDuration(86_400_000), '1d');
  assert.equal(formatDuration(90_000), '90s');
  assert.equal(formatDuration(1500), '1500ms');
});
