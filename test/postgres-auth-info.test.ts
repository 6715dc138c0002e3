// The same terms on PostgreSQL and on Redis give the same req.authInfo and req.user (a token's text
// cannot be issued into both: its id is its own hash, unique to the store that made it), and what
// users type (logins and labels with quotes, unicode, look-alikes of SQL) comes back intact.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { RedisTokenStore } from '../adapters/redis';
import { type IssueOptions, personalTokenAuth, TokenService } from '../lib/index';
import { basic, bearer, httpGet } from './support/http-load';
import { makePostgresHarness, type PostgresHarness } from './support/postgres-harness';
import { type PostgresServer, startPostgres } from './support/postgres-server';
import { connectTestRedis, deleteKeys, uniquePrefix } from './support/redis';

interface Seen {
  /** authInfo with its times as ms from when the request was answered. */
  info: Record<string, unknown>;
  user: unknown;
}

async function serve(tokens: TokenService): Promise<{ url: string; server: Server }> {
  const app = express();
  app.get('/seen', personalTokenAuth({ tokens }), (req, res) => {
    const answered = Date.now();
    const info: Record<string, unknown> = { ...req.authInfo };
    for (const key of ['expiresAt', 'hardExpiresAt'] as const) {
      const value = info[key];
      if (value instanceof Date) info[key] = value.getTime() - answered;
    }
    res.json({ info, user: req.user } satisfies Seen);
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/seen`, server };
}

describe('the same token terms on PostgreSQL and on Redis', () => {
  let postgres: PostgresServer;
  let h: PostgresHarness;
  const redis = connectTestRedis();
  const prefix = uniquePrefix('postgres-auth-info');
  const services: Record<'postgres' | 'redis', TokenService> = {} as never;
  const urls: Record<'postgres' | 'redis', string> = {} as never;
  const servers: Server[] = [];

  before(async () => {
    postgres = await startPostgres();
    h = await makePostgresHarness(postgres, { clock: false });
    services.postgres = new TokenService({ store: h.store });
    services.redis = new TokenService({ store: new RedisTokenStore(redis, { prefix }) });
    for (const name of ['postgres', 'redis'] as const) {
      const served = await serve(services[name]);
      servers.push(served.server);
      urls[name] = served.url;
    }
  });

  after(async () => {
    for (const server of servers) server.close();
    await h?.cleanup();
    await postgres?.cleanup();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  const cases: [string, IssueOptions][] = [
    ['hard limit only', { user: 'alice', expiresIn: '1h' }],
    ['sliding only', { user: 'alice', autoRefresh: '10m' }],
    [
      'sliding within a hard limit, scoped, labelled',
      {
        user: 'bob',
        autoRefresh: '10m',
        expiresIn: '2h',
        scopes: ['node:42:r', 'node:7:rw'],
        label: 'webdav',
      },
    ],
  ];
  for (const [name, options] of cases) {
    test(name, async () => {
      const seen: Record<string, Seen[]> = {};
      for (const store of ['postgres', 'redis'] as const) {
        const issued = await services[store].issue(options);
        seen[store] = [];
        for (const headers of [bearer(issued.token), basic(issued.user, issued.token)]) {
          const answer = await httpGet(urls[store], headers);
          assert.equal(answer.status, 200, `${store}: ${answer.body}`);
          const body = JSON.parse(answer.body) as Seen;
          assert.equal(body.info.tokenId, issued.id);
          seen[store].push(body);
        }
      }
      for (const [i, fromPostgres] of seen.postgres!.entries()) {
        const fromRedis = seen.redis![i]!;
        // Times relative to the answer: equal up to the time between two requests.
        for (const key of ['expiresAt', 'hardExpiresAt']) {
          const a = fromPostgres.info[key] as number | null;
          const b = fromRedis.info[key] as number | null;
          assert.equal(a === null, b === null, key);
          if (a !== null && b !== null) assert.ok(Math.abs(a - b) < 5000, `${key}: ${a} vs ${b}`);
        }
        const same = (s: Seen) => ({
          ...s,
          info: { ...s.info, tokenId: '', expiresAt: 0, hardExpiresAt: 0 },
        });
        assert.deepEqual(same(fromPostgres), same(fromRedis));
      }
    });
  }

  test('logins and labels with quotes and unicode are issued, listed and authenticated intact', async () => {
    const texts = ["o'brien", 'Robert"); DROP TABLE students;--', 'zoë 👩‍💻 עברית', '{"a":1}, {b,c} \\ $1'];
    for (const text of texts) {
      const issued = await services.postgres.issue({ user: text, label: text, expiresIn: '1h' });
      const listed = await services.postgres.list(text);
      assert.deepEqual(
        listed.map((token) => [token.user, token.label]),
        [[text, text]],
      );
      const answer = await httpGet(urls.postgres, bearer(issued.token));
      assert.equal((JSON.parse(answer.body) as Seen).info.login, text);
    }
    // A control character (NUL among them) never reaches the store: refused as bad input.
    await assert.rejects(services.postgres.issue({ user: 'alice', label: 'a\u0000b', expiresIn: '1h' }), {
      name: 'InvalidTokenOptionsError',
    });
  });
});
