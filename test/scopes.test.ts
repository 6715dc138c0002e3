import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatScope, InvalidScopeError, parseScope } from '../lib/index';
import { normaliseScopes, scopesAllow } from '../lib/scopes';
import { generateToken } from '../lib/token-format';

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

test('refuses a node id that could hold a token, of any prefix, without repeating it', () => {
  const terms = { autoRefresh: 3_600_000, hardExpiresAt: null };
  const tokens = [generateToken('pat_', terms), generateToken('cells_', terms)].map((made) => made.token);
  const pastes = [...tokens, `${tokens[0]!.slice(0, 20)}`, tokens[1]!.slice('cells_'.length)];
  for (const pasted of pastes) {
    for (const attempt of [
      () => parseScope(`node:${pasted}:r`),
      () => normaliseScopes([`node:${pasted}:rw`]),
      () => normaliseScopes([{ nodeId: pasted, permission: 'w' }]),
    ]) {
      assert.throws(attempt, (error: unknown) => {
        assert.ok(error instanceof InvalidScopeError, String(error));
        assert.equal(error.code, 'ERR_INVALID_SCOPE');
        assert.match(error.message, /could hold a token/);
        assert.ok(!error.message.includes(pasted.slice(-20)), 'the input is not repeated');
        return true;
      });
    }
  }
  // Ids apps use are fine: UUIDs, paths of short names.
  assert.equal(parseScope('node:3f2a9c1e-0000-4000-8000-000000000001:r').permission, 'r');
  assert.equal(parseScope('node:pat_docs:r').nodeId, 'pat_docs');
});
