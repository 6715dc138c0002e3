// The CLI's actions and output, in process: validation of raw option values, and what is printed
// about a token (aligned, escaped, never the token itself). The commands end to end are in the other
// test/cli-*.test.ts files.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryTokenStore } from '../adapters/memory';
import {
  createToken,
  parseCreateOptions,
  parseListOptions,
  parseRevokeOptions,
  parseTokenId,
  revokeTokens,
} from '../cli/actions';
import { UsageError } from '../cli/errors';
import { describeIssued, expiryMode, formatDetails, formatTable, formatTime, printable } from '../cli/output';
import { tokenToJson as toJson } from '../lib/http/token-json';
import { type TokenInfo, TokenService } from '../lib/index';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

function info(overrides: Partial<TokenInfo> = {}): TokenInfo {
  return {
    id: '0123456789abcdef',
    user: 'admin',
    label: null,
    scopes: [],
    createdAt: new Date(T0),
    expiresAt: new Date(T0 + 3_600_000),
    hardExpiresAt: new Date(T0 + 3_600_000),
    autoRefresh: null,
    lastUsedAt: null,
    lastUsedIp: null,
    recentIps: [],
    parentId: null,
    ...overrides,
  };
}

describe('CLI actions: validation before anything reaches the store', () => {
  test('create: durations in ms, scopes split on commas, trimmed, normalised and deduplicated', () => {
    assert.deepEqual(
      parseCreateOptions({
        user: 'admin',
        expire: '30d',
        auto: '10m',
        scope: ['node:a:r, node:b:wr', 'node:a:r'],
        label: 'backup',
      }),
      {
        user: 'admin',
        expiresIn: 30 * 86_400_000,
        autoRefresh: 600_000,
        scopes: ['node:a:r', 'node:b:rw'],
        label: 'backup',
      },
    );
    assert.deepEqual(parseCreateOptions({ user: 'admin', auto: '20s' }), {
      user: 'admin',
      autoRefresh: 20_000,
      scopes: [],
    });
  });

  test('create: each problem is a UsageError naming the flag and the accepted form', () => {
    const cases: [Parameters<typeof parseCreateOptions>[0], RegExp][] = [
      [{ expire: '1h' }, /^missing -u, --user <login>$/],
      [{ user: ' ', expire: '1h' }, /-u, --user must not be empty/],
      [{ user: 'a' }, /missing expiry/],
      [
        { user: 'a', expire: '1.5d' },
        /invalid duration "1.5d" for -e, --expire: expected .* 20s, 10m, 24h, 7d\), or a whole number of milliseconds/,
      ],
      [{ user: 'a', auto: '-5m' }, /invalid duration "-5m" for -a, --auto/],
      [
        { user: 'a', expire: '1h', scope: ['node::r'] },
        /invalid scope "node::r" for -s, --scope: expected node:<NODE_ID>/,
      ],
      [{ user: 'a', expire: '1h', label: '' }, /-l, --label must not be empty/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => parseCreateOptions(options),
        (error: unknown) => {
          assert.ok(error instanceof UsageError, String(error));
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });

  test('list, inspect and revoke options', () => {
    assert.deepEqual(parseListOptions({ user: 'admin' }), { user: 'admin' });
    assert.throws(() => parseListOptions({}), UsageError);
    assert.equal(parseTokenId('0123456789abcdef'), '0123456789abcdef');
    assert.throws(() => parseTokenId('0123456789ABCDEF'), UsageError);
    assert.deepEqual(
      parseRevokeOptions({ ids: ['0123456789abcdef', '0123456789abcdef', 'fedcba9876543210'] }),
      {
        kind: 'ids',
        ids: ['0123456789abcdef', 'fedcba9876543210'],
      },
    );
    assert.deepEqual(parseRevokeOptions({ ids: [], user: 'admin', all: true }), {
      kind: 'user',
      user: 'admin',
    });
    for (const options of [{ ids: [] }, { ids: [], all: true }, { ids: [], user: 'a' }, { ids: ['x'] }]) {
      assert.throws(() => parseRevokeOptions(options), UsageError, JSON.stringify(options));
    }
  });

  test('a whole token given where an id belongs is refused without being echoed', async () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    assert.throws(
      () => parseTokenId(token),
      (error: Error) => error instanceof UsageError && !error.message.includes(token.slice(4)),
    );
  });

  test('revoke by ids reports the unknown ones after revoking the others', async () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    const issued = await createToken(tokens, parseCreateOptions({ user: 'admin', expire: '1h' }));
    const result = await revokeTokens(tokens, { kind: 'ids', ids: ['fedcba9876543210', issued.id] });
    assert.deepEqual(result, { kind: 'ids', revoked: [issued.id], unknown: ['fedcba9876543210'] });
    assert.equal(await tokens.verify(issued.token), null);
  });
});

describe('CLI output', () => {
  test('times in UTC to the second; control characters escaped', () => {
    assert.equal(formatTime(new Date(T0)), '2025-01-02 03:04:05Z');
    assert.equal(printable('a\u001b[2Jb\nc\u009b'), 'a\\u001b[2Jb\\u000ac\\u009b');
    assert.equal(printable('café ✓'), 'café ✓');
  });

  test('expiry mode: hard, sliding, sliding with its cap', () => {
    assert.equal(expiryMode(info()), 'hard');
    assert.equal(expiryMode(info({ autoRefresh: 600_000, hardExpiresAt: null })), 'sliding 10m');
    assert.equal(expiryMode(info({ autoRefresh: 600_000 })), 'sliding 10m, cap 2025-01-02 04:04:05Z');
  });

  test('the table lines up its columns and escapes labels', () => {
    const table = formatTable([
      info({ label: 'evil\u001b[31m', scopes: ['node:a:r', 'node:b:rw'] }),
      info({ id: 'fedcba9876543210', autoRefresh: 20_000, hardExpiresAt: null, lastUsedAt: new Date(T0) }),
    ]);
    const rows = table.trimEnd().split('\n');
    assert.equal(rows.length, 3);
    for (const header of ['LABEL', 'SCOPES', 'EXPIRY', 'EXPIRES AT', 'CREATED AT', 'LAST USED']) {
      const column = rows[0]!.indexOf(header);
      assert.ok(column > 0, header);
      for (const row of rows.slice(1))
        assert.match(row.slice(column - 2, column), /^ {2}$/, `${header}: ${row}`);
    }
    assert.ok(rows[1]!.includes('evil\\u001b[31m'));
    assert.ok(rows[1]!.includes('node:a:r,node:b:rw'));
    assert.ok(rows[2]!.includes('(full access)'));
    assert.ok(rows[2]!.endsWith('2025-01-02 03:04:05Z  -'), 'last used, then no parent');
  });

  test('list and inspect show the parent of a child token', () => {
    const child = info({ parentId: 'fedcba9876543210' });
    assert.ok(formatTable([child]).trimEnd().endsWith('fedcba9876543210'));
    assert.match(formatDetails(child), /^parent +fedcba9876543210$/m);
    assert.doesNotMatch(formatDetails(info()), /^parent/m, 'none for a token no token made');
  });

  test('a rotated token whose hard limit is not a round length says how long it has left, readably', () => {
    const rotated = {
      ...info({ expiresAt: new Date(T0 + 3_541_631), hardExpiresAt: new Date(T0 + 3_541_631) }),
      token: 'pat_x',
    };
    assert.match(describeIssued(rotated), /\(hard limit, 59m 1s after creation\)\./);
  });

  test('nothing printed about an issued token contains the token, except the token itself on stdout', () => {
    const issued = { ...info({ label: 'ci' }), token: 'pat_0123456789abcdefSECRETSECRET' };
    for (const text of [
      describeIssued(issued),
      formatDetails(issued),
      formatTable([issued]),
      JSON.stringify(toJson(issued)),
    ]) {
      assert.ok(!text.includes('SECRET'), text);
    }
    assert.deepEqual(Object.keys(toJson(issued)), [
      'id',
      'user',
      'label',
      'scopes',
      'createdAt',
      'expiresAt',
      'hardExpiresAt',
      'autoRefresh',
      'lastUsedAt',
      'lastUsedIp',
      'recentIps',
      'parentId',
    ]);
  });

  test('inspect shows the last client IP only when the app records it', () => {
    assert.doesNotMatch(formatDetails(info()), /last used from/);
    assert.match(formatDetails(info({ lastUsedIp: '203.0.113.9' })), /^last used from +203\.0\.113\.9$/m);
  });

  test('inspect shows a line per recent client IP, newest first, with when it was last seen', () => {
    assert.doesNotMatch(formatDetails(info()), /recent IPs/);
    const recentIps = [
      { ip: '2001:db8::1', lastSeenAt: new Date(T0 + 2000) },
      { ip: '203.0.113.9', lastSeenAt: new Date(T0) },
    ];
    const lines = formatDetails(info({ recentIps })).split('\n');
    const at = lines.findIndex((line) => line.startsWith('recent IPs'));
    assert.match(lines[at]!, /^recent IPs +2001:db8::1 {2}2025-01-02 03:04:07Z$/);
    assert.match(lines[at + 1]!, /^ +203\.0\.113\.9 {2}2025-01-02 03:04:05Z$/);
  });
});
