// `listPage` with `visible`: a page for a caller who may see only some of the user's tokens fills up
// with those, reads a bounded number of batches per page, and no cursor it returns names a position
// of a token the caller may not see: past a long run of such tokens, the cursor is sealed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryTokenStore } from '../adapters/memory';
import { type IssuedToken, type TokenInfo, type TokenInfoPage, TokenService } from '../lib/index';
import { BATCH_SIZE, MAX_PAGE_SIZE } from '../lib/token-page';

function service() {
  const clock = { time: Date.UTC(2026, 0, 1) };
  const store = new MemoryTokenStore({ now: () => clock.time });
  const tokens = new TokenService({ store, maxTokensPerUser: Number.POSITIVE_INFINITY });
  let calls = 0;
  const listPage = store.listPage.bind(store);
  store.listPage = (login, page) => {
    calls++;
    return listPage(login, page);
  };
  const issue = async (label: string) => {
    clock.time += 1;
    return tokens.issue({ user: 'ona', expiresIn: '1h', label });
  };
  return { tokens, issue, calls: () => calls };
}

const mine = (token: TokenInfo) => token.label === 'mine';

test('past more hidden tokens than a page may read, the cursor is sealed and paging goes on', async () => {
  const { tokens, issue, calls } = service();
  const oldest = [await issue('mine'), await issue('mine')];
  const hidden: IssuedToken[] = [];
  for (let i = 0; i < MAX_PAGE_SIZE + 100; i++) hidden.push(await issue('other'));
  const newest = await issue('mine');

  const pages: TokenInfoPage[] = [];
  let cursor: string | null = null;
  let most = 0;
  do {
    const before = calls();
    const page: TokenInfoPage = await tokens.listPage('ona', { cursor, limit: 1, visible: mine });
    most = Math.max(most, calls() - before);
    pages.push(page);
    cursor = page.cursor;
  } while (cursor !== null && pages.length < 10);

  assert.deepEqual(
    pages.map((page) => page.tokens.map((token) => token.id)),
    [[newest.id], [], [oldest[1]!.id], [oldest[0]!.id]],
  );
  assert.ok(most <= MAX_PAGE_SIZE / BATCH_SIZE, `${most} store calls for one page`);
  const sealed = pages[1]!.cursor!;
  assert.doesNotMatch(sealed, /:/, 'not a position');
  const shown = JSON.stringify(pages);
  for (const token of hidden) {
    assert.ok(!shown.includes(token.id), 'no hidden id');
    assert.ok(!shown.includes(String(token.createdAt.getTime())), 'no hidden creation time');
  }

  // Only the service that sealed a cursor opens it; an altered one is refused like any bad cursor.
  await assert.rejects(service().tokens.listPage('ona', { cursor: sealed, visible: mine }), {
    code: 'ERR_INVALID_PAGE',
  });
  const altered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'BB' : 'AA'}`;
  await assert.rejects(tokens.listPage('ona', { cursor: altered, visible: mine }), {
    code: 'ERR_INVALID_PAGE',
  });
});

test('without visible, paging is as before: one store call, the last token’s position', async () => {
  const { tokens, issue, calls } = service();
  for (let i = 0; i < 3; i++) await issue(i === 1 ? 'mine' : 'other');
  const page = await tokens.listPage('ona', { limit: 2 });
  assert.equal(calls(), 1);
  assert.equal(page.tokens.length, 2);
  assert.equal(page.cursor, `${page.tokens[1]!.createdAt.getTime()}:${page.tokens[1]!.id}`);
});
