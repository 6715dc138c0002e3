// `personal-token list` pages: every token by default (read page by page), or one page with
// --limit and --cursor, the cursor of the next printed on stderr.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { RedisTokenStore } from '../adapters/redis';
import { parseListOptions } from '../cli/actions';
import { UsageError } from '../cli/errors';
import { TokenService } from '../lib/index';
import { cliPrefix, runCliInProcess, TEST_REDIS_URL, uniqueLogin } from './cli-support';
import { connectTestRedis, deleteKeys } from './support/redis';

const prefix = cliPrefix();
const redis = connectTestRedis();
const tokens = new TokenService({ store: new RedisTokenStore(redis, { prefix }) });
const cli = (...args: string[]) => runCliInProcess(['--redis', TEST_REDIS_URL, '--prefix', prefix, ...args]);
after(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

test('list prints every token by default, or one page at a time with --limit and --cursor', async () => {
  const user = uniqueLogin('pages');
  const issued = [];
  for (let i = 0; i < 5; i++) issued.push(await tokens.issue({ user, expiresIn: '1h', label: `t${i}` }));
  const newestFirst = issued.map((token) => token.id).reverse();
  const idsIn = (stdout: string) => newestFirst.filter((id) => stdout.includes(id));

  const all = await cli('list', '-u', user);
  assert.equal(all.code, 0);
  assert.deepEqual(idsIn(all.stdout), newestFirst);
  assert.equal(all.stderr, '');

  const seen: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 3; page++) {
    const run = await cli(
      'list',
      '-u',
      user,
      '--limit',
      '2',
      '--json',
      ...(cursor ? ['--cursor', cursor] : []),
    );
    assert.equal(run.code, 0);
    seen.push(...(JSON.parse(run.stdout) as { id: string }[]).map((token) => token.id));
    cursor = /^next page: --cursor (\S+)$/m.exec(run.stderr)?.[1];
    if (page < 2) assert.ok(cursor, 'the cursor of the next page');
  }
  assert.deepEqual(seen, newestFirst);
});

test('list refuses a bad --limit or --cursor before it touches the store', async () => {
  for (const options of [{ limit: '0' }, { limit: '1001' }, { limit: '1e3' }, { cursor: 'nope' }]) {
    assert.throws(() => parseListOptions({ user: 'a', ...options }), UsageError);
  }
  const run = await cli('list', '-u', 'a', '--cursor', 'pat_notacursor');
  assert.equal(run.code, 2);
  assert.ok(!run.stderr.includes('pat_notacursor'), 'the text is not echoed');
});
