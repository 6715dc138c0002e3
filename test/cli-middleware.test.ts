// The issue's promise: a token created by `personal-token create` with no --redis and no --prefix is
// accepted by an app that calls `personalTokenAuth()` with no arguments, as Bearer and as Basic.
// Both sides use the defaults ($REDIS_URL else redis://127.0.0.1:6379, key prefix pat:), so this
// test writes under pat:, for its own unique login only, and removes what it created.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import express from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { personalTokenAuth, redisUrlFromEnv } from '../lib/index';
import { runCli, tokenId, tokenLine, uniqueLogin } from './cli-support';

describe('a token from the CLI, through personalTokenAuth() with no arguments', () => {
  const user = uniqueLogin('cli-mw');
  const redis = new Redis(redisUrlFromEnv(), { maxRetriesPerRequest: 1 });
  const auth = personalTokenAuth();
  const app = express();
  app.get('/whoami', auth, (req, res) => {
    res.json({ user: req.user, authInfo: req.authInfo });
  });
  const created: string[] = [];

  const create = async (...args: string[]) => {
    // No --redis, no --prefix: the defaults, with the environment the app has.
    const run = await runCli(['create', '-u', user, '-q', ...args]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, tokenLine());
    const token = run.stdout.trim();
    created.push(tokenId(token));
    return token;
  };
  const basic = (login: string, token: string) =>
    `Basic ${Buffer.from(`${login}:${token}`).toString('base64')}`;

  after(async () => {
    const revoked = await runCli(['revoke', '--user', user, '--all']);
    assert.equal(revoked.code, 0, revoked.stderr);
    // Whatever a failed assertion may have left: this test's own keys only, never a pattern on pat:.
    // The revocations' tombstones (r:) and any limited record (l:) included.
    await redis.del(
      `pat:u:{${user}}`,
      ...created.flatMap((id) => [`pat:t:{${id}}`, `pat:l:{${id}}`, `pat:r:{${id}}`]),
    );
    await auth.tokens.close();
    await redis.quit();
  });

  test('Bearer and Basic (login:token) are accepted; Basic with another login is not', async () => {
    const token = await create('-e', '1h');
    const bearer = await request(app).get('/whoami').set('Authorization', `Bearer ${token}`);
    assert.equal(bearer.status, 200, bearer.text);
    assert.deepEqual(bearer.body.user, { login: user });
    assert.equal(bearer.body.authInfo.tokenId, tokenId(token));
    assert.equal(bearer.body.authInfo.login, user);
    assert.equal(bearer.body.authInfo.scheme, 'bearer');

    const viaBasic = await request(app).get('/whoami').set('Authorization', basic(user, token));
    assert.equal(viaBasic.status, 200, viaBasic.text);
    assert.equal(viaBasic.body.authInfo.scheme, 'basic');

    const otherLogin = await request(app)
      .get('/whoami')
      .set('Authorization', basic(`${user}-not`, token));
    assert.equal(otherLogin.status, 401);
  });

  test('a sliding, scoped token: its use shows in list; once revoked by the CLI, it is refused', async () => {
    const token = await create('-a', '10m', '-s', 'node:docs:r');
    const id = tokenId(token);
    const used = await request(app).get('/whoami').set('Authorization', `Bearer ${token}`);
    assert.equal(used.status, 200, used.text);
    assert.deepEqual(used.body.authInfo.scopes, ['node:docs:r']);
    assert.equal(used.body.authInfo.autoRefresh, 600_000);

    const listed = await runCli(['list', '-u', user, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const entry = JSON.parse(listed.stdout).find((candidate: { id: string }) => candidate.id === id);
    assert.ok(entry?.lastUsedAt, 'the use was recorded');

    const revoked = await runCli(['revoke', id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const refused = await request(app).get('/whoami').set('Authorization', `Bearer ${token}`);
    assert.equal(refused.status, 401);
    const inspected = await runCli(['inspect', id]);
    assert.equal(inspected.code, 1, 'gone for the CLI too');
  });
});
