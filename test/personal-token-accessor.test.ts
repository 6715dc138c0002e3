import assert from 'node:assert/strict';
import { test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import {
  NotTokenAuthenticatedError,
  type PersonalTokenAuthInfo,
  personalToken,
  personalTokenAuth,
  TokenService,
} from '../lib/index';

function appWith(tokens: TokenService) {
  const app = express();
  app.use('/optional', personalTokenAuth({ tokens, optional: true }));
  app.use('/api', personalTokenAuth({ tokens }));
  const route: express.RequestHandler = (req, res) => {
    const token: PersonalTokenAuthInfo = personalToken(req);
    res.json({
      login: token.login,
      tokenId: token.tokenId,
      scopes: token.scopes,
      expiresIn: token.expiresAt.getTime() - tokens.now(),
    });
  };
  app.get('/api/me', route);
  app.get('/optional/me', route);
  return app;
}

test('personalToken(req) gives a token-authenticated route its facts, typed and defined', async () => {
  const now = Date.UTC(2030, 0, 1);
  const tokens = new TokenService({ store: new MemoryTokenStore({ now: () => now }), now: () => now });
  const { token, id } = await tokens.issue({ user: 'ada', expiresIn: '1h', scopes: ['node:docs:r'] });
  const res = await request(appWith(tokens))
    .get('/api/me')
    .set('Authorization', `Bearer ${token}`)
    .expect(200);
  assert.deepEqual(res.body, {
    login: 'ada',
    tokenId: id,
    scopes: ['node:docs:r'],
    expiresIn: 3_600_000,
  });
});

test('personalToken(req) throws NotTokenAuthenticatedError (a 401) when no token authenticated the request', async () => {
  const tokens = new TokenService({ store: new MemoryTokenStore() });
  const res = await request(appWith(tokens)).get('/optional/me').expect(401);
  assert.doesNotMatch(res.text, /pat_/);
  const req = { authInfo: undefined } as express.Request;
  assert.throws(
    () => personalToken(req),
    (error: unknown) =>
      error instanceof NotTokenAuthenticatedError &&
      error.code === 'ERR_NOT_TOKEN_AUTHENTICATED' &&
      error.status === 401,
  );
});
