import assert from 'node:assert/strict';
import { test } from 'node:test';
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
    '10',
    '1d2h',
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

test('formats in the largest exact unit', () => {
  assert.equal(formatDuration(600_000), '10m');
  assert.equal(formatDuration(86_400_000), '1d');
  assert.equal(formatDuration(90_000), '90s');
  assert.equal(formatDuration(1500), '1500ms');
});
