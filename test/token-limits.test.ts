// The app's token policy (lib/manage/token-limits.ts): live tokens per user, scopes per token, the longest
// hard limit and the longest sliding window. Safe defaults, parsed in the constructor, enforced by
// issue, issueFor, rotate, the router and the CLI, each refusal naming its limit.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { tokenRouter } from '../lib/http/token-router';
import {
  DEFAULT_TOKEN_LIMITS,
  TokenLimitError,
  TokenPolicyError,
  TokenService,
  type TokenServiceOptions,
} from '../lib/index';
import { cliPrefix, runCliInProcess, TEST_REDIS_URL, uniqueLogin } from './cli-support';
import { connectTestRedis, deleteKeys, scanKeys } from './support/redis';

const DAY = 86_400_000;

function service(options: Partial<TokenServiceOptions> = {}) {
  const clock = { time: Date.UTC(2026, 0, 1) };
  const store = new MemoryTokenStore({ now: () => clock.time });
  return { clock, store, tokens: new TokenService({ store, ...options }) };
}

const scopes = (count: number) => Array.from({ length: count }, (_, i) => `node:n${i}:r`);

async function policyError(promise: Promise<unknown>, code: string, names: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TokenPolicyError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, names);
    return true;
  });
}

describe('policy options', () => {
  test('defaults: 100 tokens per user, 50 scopes per token, 366-day hard limit, 30-day window', () => {
    const { tokens } = service();
    assert.deepEqual(tokens.limits, {
      maxTokensPerUser: 100,
      maxScopesPerToken: 50,
      maxExpiresIn: 366 * DAY,
      maxAutoRefresh: 30 * DAY,
    });
    assert.deepEqual(tokens.limits, DEFAULT_TOKEN_LIMITS);
    assert.equal(tokens.maxTokensPerUser, 100);
  });

  test('durations as text or ms, Infinity lifts a limit', () => {
    const { tokens } = service({
      maxTokensPerUser: Number.POSITIVE_INFINITY,
      maxScopesPerToken: 3,
      maxExpiresIn: '90d',
      maxAutoRefresh: 3_600_000,
    });
    assert.deepEqual(tokens.limits, {
      maxTokensPerUser: Number.POSITIVE_INFINITY,
      maxScopesPerToken: 3,
      maxExpiresIn: 90 * DAY,
      maxAutoRefresh: 3_600_000,
    });
  });

  test('a lifted maxTokensPerUser costs no store call per issue', async () => {
    const { store, tokens } = service({ maxTokensPerUser: Number.POSITIVE_INFINITY });
    assert.equal(tokens.maxTokensPerUser, undefined);
    let listed = 0;
    const listPage = store.listPage.bind(store);
    store.listPage = (login, page) => {
      listed++;
      return listPage(login, page);
    };
    await tokens.issue({ user: 'al', expiresIn: '1h' });
    assert.equal(listed, 0);
  });

  test('a wrong limit is a TypeError naming the option', () => {
    const wrong: [keyof TokenServiceOptions, unknown][] = [
      ['maxTokensPerUser', 0],
      ['maxTokensPerUser', 1.5],
      ['maxTokensPerUser', Number.NaN],
      ['maxScopesPerToken', -1],
      ['maxScopesPerToken', '50'],
      ['maxScopesPerToken', Number.NEGATIVE_INFINITY],
      ['maxExpiresIn', '1.5d'],
      ['maxExpiresIn', 0],
      ['maxExpiresIn', true],
      ['maxAutoRefresh', 'forever'],
      ['maxAutoRefresh', -60_000],
      ['maxAutoRefresh', null],
    ];
    for (const [option, value] of wrong) {
      assert.throws(
        () => service({ [option]: value }),
        (error: unknown) => error instanceof TypeError && error.message.includes(option),
        `${option}: ${String(value)}`,
      );
    }
  });
});

describe('issue and issueFor keep to the policy', () => {
  const ways = {
    issue: (tokens: TokenService, options: object) => tokens.issue({ user: 'ann', ...options }),
    issueFor: (tokens: TokenService, options: object) => tokens.issueFor('ann', options),
  };

  for (const [way, make] of Object.entries(ways)) {
    test(`${way}: each limit refuses with its code and names itself; the limit itself is allowed`, async () => {
      const { tokens } = service();
      await policyError(
        make(tokens, { expiresIn: '1h', scopes: scopes(51) }),
        'ERR_TOO_MANY_SCOPES',
        /at most 50 scopes \(maxScopesPerToken\)/,
      );
      await policyError(
        make(tokens, { expiresIn: '367d' }),
        'ERR_EXPIRY_TOO_LONG',
        /at most 366d from now \(maxExpiresIn\)/,
      );
      await policyError(
        make(tokens, { autoRefresh: '31d', expiresIn: '1d' }),
        'ERR_WINDOW_TOO_LONG',
        /at most 30d \(maxAutoRefresh\)/,
      );
      assert.deepEqual(await tokens.list('ann'), [], 'nothing issued');
      await make(tokens, { expiresIn: '366d', autoRefresh: '30d', scopes: scopes(50) });
    });

    test(`${way}: the 101st live token is a TokenLimitError naming maxTokensPerUser`, async () => {
      const { tokens } = service();
      for (let i = 0; i < 100; i++) await make(tokens, { expiresIn: '1h' });
      await assert.rejects(make(tokens, { expiresIn: '1h' }), (error: unknown) => {
        assert.ok(error instanceof TokenLimitError);
        assert.equal(error.code, 'ERR_TOKEN_LIMIT');
        assert.match(error.message, /100 live tokens.*maxTokensPerUser/);
        return true;
      });
    });

    test(`${way}: Infinity lifts each limit`, async () => {
      const { tokens } = service({
        maxTokensPerUser: Number.POSITIVE_INFINITY,
        maxScopesPerToken: Number.POSITIVE_INFINITY,
        maxExpiresIn: Number.POSITIVE_INFINITY,
        maxAutoRefresh: Number.POSITIVE_INFINITY,
      });
      const made = await make(tokens, { expiresIn: '3650d', autoRefresh: '3650d', scopes: scopes(200) });
      assert.equal((made as { scopes: string[] }).scopes.length, 200);
    });
  }
});

describe('rotation never makes a token outside the policy', () => {
  test('a token made under a looser policy cannot be rotated into a tighter one; it keeps working', async () => {
    const { store, tokens: loose } = service({ maxExpiresIn: '1000d', maxScopesPerToken: 100 });
    const strict = new TokenService({ store });
    const long = await loose.issue({ user: 'bo', expiresIn: '400d' });
    const wide = await loose.issue({ user: 'bo', expiresIn: '1d', scopes: scopes(60) });
    await policyError(strict.rotate(long.id), 'ERR_EXPIRY_TOO_LONG', /maxExpiresIn/);
    await policyError(strict.rotate(wide.id), 'ERR_TOO_MANY_SCOPES', /maxScopesPerToken/);
    assert.ok(await strict.verify(long.token));
    assert.ok(await strict.verify(wide.token));
    assert.equal((await strict.list('bo')).length, 2, 'no replacement made');
  });

  test('rotation with an overlap makes a live token more: it keeps to maxTokensPerUser', async () => {
    const { clock, tokens } = service({ maxTokensPerUser: 2 });
    const first = await tokens.issue({ user: 'cy', expiresIn: '30d' });
    const second = await tokens.rotate(first.id, { overlap: '7d' });
    assert.ok(second);
    for (let i = 0; i < 20; i++) {
      await assert.rejects(tokens.rotate(first.id, { overlap: '7d' }), (error: unknown) => {
        assert.ok(error instanceof TokenLimitError, String(error));
        assert.match(error.message, /maxTokensPerUser/);
        return true;
      });
      await assert.rejects(tokens.rotate(second.id, { overlap: 60_000 }), TokenLimitError);
    }
    assert.equal((await tokens.list('cy')).length, 2);
    // Without an overlap a rotation swaps one token for one, at the limit too.
    const third = await tokens.rotate(second.id);
    assert.ok(third);
    assert.equal((await tokens.list('cy')).length, 2);
    // Once the overlap is over, there is room again.
    clock.time += 7 * DAY + 1;
    assert.ok(await tokens.rotate(third.id, { overlap: '1h' }));
    assert.equal((await tokens.list('cy')).length, 2);
  });
});

describe('the router answers a policy refusal with a 400 naming the limit and the field', () => {
  const { tokens } = service({ maxTokensPerUser: 2 });
  const app = express();
  app.use((req, _res, next) => {
    req.user = { login: 'cy' } as Express.User;
    next();
  });
  app.use(tokenRouter({ tokens }));

  test('scopes, expiresIn, autoRefresh: 400; too many tokens: 409', async () => {
    const cases: [object, string, string, RegExp][] = [
      [{ expiresIn: '1h', scopes: scopes(51) }, 'ERR_TOO_MANY_SCOPES', 'scopes', /maxScopesPerToken/],
      [{ expiresIn: '400d' }, 'ERR_EXPIRY_TOO_LONG', 'expiresIn', /maxExpiresIn/],
      [{ autoRefresh: '90d' }, 'ERR_WINDOW_TOO_LONG', 'autoRefresh', /maxAutoRefresh/],
    ];
    for (const [body, code, field, names] of cases) {
      const res = await request(app).post('/tokens').send(body).expect(400);
      assert.deepEqual({ code: res.body.error.code, field: res.body.error.field }, { code, field });
      assert.match(res.body.error.message, names);
    }
    await request(app).post('/tokens').send({ expiresIn: '1h' }).expect(201);
    const old = await request(app).post('/tokens').send({ expiresIn: '1h' }).expect(201);
    const full = await request(app).post('/tokens').send({ expiresIn: '1h' }).expect(409);
    assert.equal(full.body.error.code, 'ERR_TOKEN_LIMIT');
    assert.match(full.body.error.message, /maxTokensPerUser/);
    // Rotation replaces a token: it is not one more.
    await request(app).post(`/tokens/${old.body.id}/rotate`).send({}).expect(201);
  });
});

describe('the CLI refuses outside the policy with exit 2 and a line naming the limit', () => {
  const prefix = cliPrefix();
  const client = connectTestRedis();
  after(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });
  const create = (...args: string[]) =>
    runCliInProcess(['--redis', TEST_REDIS_URL, '--prefix', prefix, 'create', ...args]);

  test('-e past maxExpiresIn, -a past maxAutoRefresh, more than 50 scopes', async () => {
    const user = uniqueLogin('policy');
    const cases: [string[], RegExp][] = [
      [['-e', '367d'], /maxExpiresIn/],
      [['-a', '31d'], /maxAutoRefresh/],
      [['-e', '1h', '-s', scopes(51).join(',')], /maxScopesPerToken/],
    ];
    for (const [args, names] of cases) {
      const run = await create('-u', user, ...args);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /^personal-token: [^\n]+\n$/);
      assert.match(run.stderr, names);
    }
    assert.deepEqual(await scanKeys(client, prefix), [], 'nothing stored');
  });
});
