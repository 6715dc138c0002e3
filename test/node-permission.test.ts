import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import { hasNodePermission, personalTokenAuth, requireNodePermission, TokenService } from '../lib/index';
import { ancestors } from './support/node-ancestry';

describe('requireNodePermission / hasNodePermission', () => {
  const tokens = new TokenService({ store: new MemoryTokenStore() });
  const app = express();
  app.use(personalTokenAuth({ tokens, resolveAncestors: ancestors }));
  app.get(
    '/nodes/:id',
    requireNodePermission((req) => String(req.params.id), 'r'),
    (_req, res) => res.json({ ok: true }),
  );
  app.put(
    '/nodes/:id',
    requireNodePermission((req) => String(req.params.id), 'w'),
    (_req, res) => res.json({ ok: true }),
  );
  app.get('/check/:id', async (req, res) => {
    res.json({
      r: await hasNodePermission(req, String(req.params.id), 'r'),
      rw: await hasNodePermission(req, String(req.params.id), 'rw'),
    });
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  test('no scopes: not narrowed', async () => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    await request(app).get('/nodes/notes').set(bearer(token)).expect(200);
    await request(app).put('/nodes/notes').set(bearer(token)).expect(200);
  });

  test('a folder scope reaches everything below it and nothing else', async () => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
    await request(app).get('/nodes/docs').set(bearer(token)).expect(200);
    await request(app).get('/nodes/q1').set(bearer(token)).expect(200);
    await request(app).get('/nodes/notes').set(bearer(token)).expect(403);
    await request(app).get('/nodes/root').set(bearer(token)).expect(403);
    const res = await request(app).put('/nodes/q1').set(bearer(token)).expect(403);
    assert.deepEqual(res.body, { error: 'insufficient_scope' });
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="Users", error="insufficient_scope"');
  });

  test('w does not imply r: an upload-only token', async () => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:reports:w'] });
    await request(app).put('/nodes/q1').set(bearer(token)).expect(200);
    await request(app).get('/nodes/q1').set(bearer(token)).expect(403);
  });

  test('Basic: 403 without a Bearer challenge', async () => {
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
    const res = await request(app).put('/nodes/q1').auth('admin', token).expect(403);
    assert.equal(res.headers['www-authenticate'], undefined);
  });

  test('hasNodePermission combines scopes', async () => {
    const { token } = await tokens.issue({
      user: 'admin',
      expiresIn: '1h',
      scopes: ['node:docs:r', 'node:q1:w'],
    });
    assert.deepEqual((await request(app).get('/check/q1').set(bearer(token)).expect(200)).body, {
      r: true,
      rw: true,
    });
    assert.deepEqual((await request(app).get('/check/reports').set(bearer(token)).expect(200)).body, {
      r: true,
      rw: false,
    });
  });

  test('without resolveAncestors only the named node itself matches', async () => {
    const plain = express();
    plain.use(personalTokenAuth({ tokens }));
    plain.get(
      '/nodes/:id',
      requireNodePermission((req) => String(req.params.id), 'r'),
      (_req, res) => res.send('ok'),
    );
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
    await request(plain).get('/nodes/docs').set(bearer(token)).expect(200);
    await request(plain).get('/nodes/q1').set(bearer(token)).expect(403);
  });

  test('a failing getNodeId or resolveAncestors goes to the error handler', async () => {
    const failing = express();
    failing.use(
      personalTokenAuth({ tokens, resolveAncestors: () => Promise.reject(new Error('tree down')) }),
    );
    failing.get(
      '/nodes/:id',
      requireNodePermission((req) => String(req.params.id), 'r'),
      (_req, res) => res.send('ok'),
    );
    failing.use((_e: Error, _q: express.Request, res: express.Response, _n: express.NextFunction) =>
      res.status(500).send('handled'),
    );
    const { token } = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
    const res = await request(failing).get('/nodes/q1').set(bearer(token)).expect(500);
    assert.equal(res.text, 'handled');
  });

  test('bad setup is a TypeError', () => {
    assert.throws(() => requireNodePermission('docs' as never, 'r'), TypeError);
    assert.throws(() => requireNodePermission(() => 'docs', 'x' as never), TypeError);
  });
});

describe('requireNodePermission with the route parameter as Express 5 types it', () => {
  const tokens = new TokenService({ store: new MemoryTokenStore() });
  const app = express();
  app.use(personalTokenAuth({ tokens, resolveAncestors: ancestors }));
  // `req.params.id` is `string | string[]` in Express 5's types: the natural code compiles as is.
  app.get(
    '/nodes/:id',
    requireNodePermission((req) => req.params.id, 'r'),
    (_req, res) => res.json({ ok: true }),
  );
  // A wildcard parameter is a list of segments: it names no single node.
  app.get(
    '/tree/*path',
    requireNodePermission((req) => req.params.path, 'r'),
    (_req, res) => res.json({ ok: true }),
  );

  test('a string parameter is the node; a list of segments is none, so a scoped token is refused', async () => {
    const scoped = await tokens.issue({ user: 'admin', expiresIn: '1h', scopes: ['node:docs:r'] });
    const full = await tokens.issue({ user: 'admin', expiresIn: '1h' });
    await request(app).get('/nodes/q1').set('Authorization', `Bearer ${scoped.token}`).expect(200);
    await request(app).get('/tree/docs/q1').set('Authorization', `Bearer ${scoped.token}`).expect(403);
    await request(app).get('/tree/docs').set('Authorization', `Bearer ${scoped.token}`).expect(403);
    await request(app).get('/tree/docs/q1').set('Authorization', `Bearer ${full.token}`).expect(200);
  });
});
