import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatScope, InvalidScopeError, parseScope } from '../lib/index';
import { normaliseScopes, scopesAllow } from '../lib/scopes';

test('parses node:<id>:<r|w|rw>, accepting wr as rw', () => {
  assert.deepEqual(parseScope('node:3f2a9c1e-0000-4000-8000-000000000001:r'), {
    nodeId: '3f2a9c1e-0000-4000-8000-000000000001',
    permission: 'r',
  });
  assert.equal(parseScope('node:abc:wr').permission, 'rw');
  assert.equal(formatScope(parseScope('node:abc:wr')), 'node:abc:rw');
});

test('rejects anything else with a message naming the grammar (no substring permissions as in Cells)', () => {
  for (const bad of [
    'node:abc:edit',
    'node:abc:write',
    'node:abc:',
    'node::r',
    'abc:r',
    'node:abc:rwx',
    'node:a:b:r',
    'node:a,b:r',
    'NODE:abc:r',
    'node:abc:R',
    '',
  ]) {
    assert.throws(
      () => parseScope(bad),
      (error: unknown) =>
        error instanceof InvalidScopeError && /node:<NODE_ID>:<PERMISSION>/.test(error.message),
      bad,
    );
  }
});

test('normalises lists and drops duplicates', () => {
  assert.deepEqual(normaliseScopes(['node:a:wr', 'node:a:rw', { nodeId: 'b', permission: 'r' }]), [
    'node:a:rw',
    'node:b:r',
  ]);
});

test('no scopes = not narrowed; a scope covers its node and descendants; w does not imply r', () => {
  assert.equal(scopesAllow([], 'x', [], 'rw'), true);
  const scopes = ['node:docs:r', 'node:inbox:w'];
  assert.equal(scopesAllow(scopes, 'docs', [], 'r'), true);
  assert.equal(scopesAllow(scopes, 'q1', ['reports', 'docs', 'root'], 'r'), true);
  assert.equal(scopesAllow(scopes, 'q1', ['reports', 'docs', 'root'], 'w'), false);
  assert.equal(scopesAllow(scopes, 'notes', ['private', 'root'], 'r'), false);
  assert.equal(scopesAllow(scopes, 'upload', ['inbox'], 'w'), true);
  assert.equal(scopesAllow(scopes, 'upload', ['inbox'], 'r'), false, 'upload-only token');
  // Permissions add up across matching scopes.
  assert.equal(scopesAllow(['node:docs:r', 'node:q1:w'], 'q1', ['docs'], 'rw'), true);
});
