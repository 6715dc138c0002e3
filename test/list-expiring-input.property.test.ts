// listExpiring and `personal-token expiring` take their window, cursor and page size from whoever
// runs them: anything out of form is a named error with a stable code (a usage error, exit 2, for
// the CLI) before the store is asked anything, and nothing is echoed that could be a token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MemoryTokenStore } from '../adapters/memory';
import { parseExpiringOptions } from '../cli/actions';
import { UsageError } from '../cli/errors';
import { PersonalTokenError, TokenService } from '../lib/index';
import type { ExpiringPageRequest } from '../lib/store';

/** A memory store that counts the listings it is asked for. */
function countingService(): { tokens: TokenService; asked: () => number } {
  const time = Date.UTC(2026, 0, 1);
  const store = new MemoryTokenStore({ now: () => time });
  let asked = 0;
  const listExpiring = store.listExpiring.bind(store);
  store.listExpiring = (page: ExpiringPageRequest) => {
    asked++;
    return listExpiring(page);
  };
  return { tokens: new TokenService({ store }), asked: () => asked };
}

const hostile = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, undefined, '', '0', '-1d', '1.5d', '7 d', '1e3', 'Infinity', {}, [], '9'.repeat(40)),
);

test('a window, cursor or limit out of form is refused with a code, and the store is not asked', async () => {
  await fc.assert(
    fc.asyncProperty(hostile, hostile, hostile, async (within, cursor, limit) => {
      const { tokens, asked } = countingService();
      const options = { within, cursor, limit } as never;
      try {
        await tokens.listExpiring(options);
      } catch (error) {
        assert.ok(error instanceof PersonalTokenError, String(error));
        assert.match(error.code, /^ERR_INVALID_(DURATION|PAGE)$/);
        assert.equal(asked(), 0, 'refused before the store');
        return;
      }
      // What passed was in form: a window, no cursor or a cursor, a page size from 1 to 1000.
      assert.equal(asked(), 1);
    }),
    { numRuns: 500 },
  );
});

test('a good request lists; the CLI refuses a bad --within, --limit or --cursor as a usage error', async () => {
  const { tokens } = countingService();
  await tokens.issue({ user: 'ann', expiresIn: '1h' });
  assert.equal((await tokens.listExpiring({ within: '2h' })).tokens.length, 1);
  assert.equal((await tokens.listExpiring({ within: 3_600_000 - 1 })).tokens.length, 0);
  fc.assert(
    fc.property(fc.string(), (text) => {
      for (const options of [
        { within: text },
        { within: '7d', limit: text },
        { within: '7d', cursor: text },
      ]) {
        try {
          parseExpiringOptions(options);
        } catch (error) {
          assert.ok(error instanceof UsageError, String(error));
          if (text.length > 16) assert.ok(!error.message.includes(text), 'a long text is not echoed');
        }
      }
    }),
  );
  assert.throws(() => parseExpiringOptions({}), UsageError);
});
