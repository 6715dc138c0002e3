import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readCredentials } from '../lib/http/middleware';

const basic = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

test('bearer and basic, with the scheme in any case', () => {
  assert.deepEqual(readCredentials('Bearer abc.DEF-_~+/='), { scheme: 'bearer', token: 'abc.DEF-_~+/=' });
  assert.deepEqual(readCredentials('bearer abc'), { scheme: 'bearer', token: 'abc' });
  assert.deepEqual(readCredentials('BEARER   abc'), { scheme: 'bearer', token: 'abc' });
  assert.deepEqual(readCredentials(basic('admin:tok')), { scheme: 'basic', login: 'admin', password: 'tok' });
  assert.deepEqual(readCredentials(`BASIC ${basic('admin:tok').slice(6)}`), {
    scheme: 'basic',
    login: 'admin',
    password: 'tok',
  });
});

test('a Basic password is everything after the first colon (passport-http keeps only up to the second)', () => {
  assert.deepEqual(readCredentials(basic('admin:a:b:c')), {
    scheme: 'basic',
    login: 'admin',
    password: 'a:b:c',
  });
});

test('UTF-8 credentials; invalid UTF-8 or base64 is malformed', () => {
  assert.deepEqual(readCredentials(basic('zoë:pässword')), {
    scheme: 'basic',
    login: 'zoë',
    password: 'pässword',
  });
  assert.deepEqual(readCredentials(`Basic ${Buffer.from([0xff, 0x3a, 0x61]).toString('base64')}`), {
    scheme: 'malformed',
    attempted: 'basic',
  });
  for (const bad of ['Basic %%%', 'Basic YWRtaW4', 'Basic a', 'Basic', 'Basic YWRt aW46dA==']) {
    assert.equal(readCredentials(bad).scheme, 'malformed', bad);
  }
  assert.equal(readCredentials(basic('no-colon')).scheme, 'malformed');
});

test('the scheme is matched whole: "Bearerx", "XBasic" are other schemes', () => {
  assert.deepEqual(readCredentials('Bearerx abc'), { scheme: 'none' });
  assert.deepEqual(readCredentials('XBasic YWRtaW46dA=='), { scheme: 'none' });
  assert.deepEqual(readCredentials('Negotiate abc'), { scheme: 'none' });
  assert.deepEqual(readCredentials(undefined), { scheme: 'none' });
  assert.deepEqual(readCredentials(''), { scheme: 'none' });
});

test('a bearer header without a token or with spaces in it is malformed', () => {
  for (const bad of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer a"b', 'Bearer =abc']) {
    assert.deepEqual(readCredentials(bad), { scheme: 'malformed', attempted: 'bearer' }, bad);
  }
});

test('the fast paths for "Bearer " and "Basic " read exactly what the general grammar reads', () => {
  const encoded = basic('admin:tok').slice(6);
  const cases: [string, ReturnType<typeof readCredentials>][] = [
    ['Bearer  abc', { scheme: 'bearer', token: 'abc' }],
    ['Bearer abc ', { scheme: 'bearer', token: 'abc' }],
    [`Basic  ${encoded}`, { scheme: 'basic', login: 'admin', password: 'tok' }],
    [`Basic ${encoded}\t`, { scheme: 'basic', login: 'admin', password: 'tok' }],
    // Base64 that atob refuses (one character left over) is malformed, not an error.
    ['Basic A=', { scheme: 'malformed', attempted: 'basic' }],
    ['Basic QQ', { scheme: 'malformed', attempted: 'basic' }],
    ['Basic ', { scheme: 'malformed', attempted: 'basic' }],
  ];
  for (const [header, expected] of cases) assert.deepEqual(readCredentials(header), expected, header);
});
