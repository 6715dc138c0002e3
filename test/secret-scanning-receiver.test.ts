// secretScanningReceiver(): GitHub's secret-scanning partner alerts, signed with a P-256 key made
// here, on the memory store and the real Redis; the key list served by a local HTTP server; random
// requests.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import {
  OptionsError,
  type SecretScanningPublicKey,
  type SecretScanningReceiverOptions,
  secretScanningReceiver,
  type TokenEvent,
  TokenService,
} from '../lib/index';
import { generateToken } from '../lib/token-format';
import { onBothStores } from './support/both-stores';
import { unavailableStore } from './support/unavailable-store';

type App = ReturnType<typeof express>;

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
const GITHUB = keyPair();
const GITHUB_ID = createHash('sha256').update('the test key').digest('hex');
const STRANGER = keyPair();

const signature = (body: string | Buffer, key: KeyObject = GITHUB.privateKey) =>
  sign('sha256', Buffer.from(body), { key, dsaEncoding: 'der' }).toString('base64');

/** An alert posted as GitHub posts it: JSON, signed over its raw bytes unless told otherwise. */
function alert(
  app: App,
  body: string,
  headers: { id?: string | null; signature?: string | null } = {},
): request.Test {
  let req = request(app).post('/secret-scanning').set('Content-Type', 'application/json');
  const id = headers.id === undefined ? GITHUB_ID : headers.id;
  const signed = headers.signature === undefined ? signature(body) : headers.signature;
  if (id !== null) req = req.set('Github-Public-Key-Identifier', id);
  if (signed !== null) req = req.set('Github-Public-Key-Signature', signed);
  return req.send(body);
}

const match = (token: string, url = 'https://github.com/octocat/app/blob/abc/config.yml') => ({
  token,
  type: 'acme_personal_token',
  url,
  source: 'content',
});
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const otherToken = (prefix = 'pat_') =>
  generateToken(prefix, { autoRefresh: null, hardExpiresAt: null }).token;

function makeApp(options: SecretScanningReceiverOptions): App {
  const app = express();
  app.use(secretScanningReceiver(options));
  return app;
}

/** A memory store that counts the lookups that reach it. */
class CountedStore extends MemoryTokenStore {
  lookups = 0;
  override get(id: string) {
    this.lookups++;
    return super.get(id);
  }
  override verify(...args: Parameters<MemoryTokenStore['verify']>) {
    this.lookups++;
    return super.verify(...args);
  }
}

onBothStores('secretScanningReceiver', ({ makeStore }) => {
  const events: TokenEvent[] = [];
  let tokens: TokenService;
  let app: App;
  before(() => {
    tokens = new TokenService({ store: makeStore(), onEvent: (event) => void events.push(event) });
    app = makeApp({ tokens, publicKeys: { [GITHUB_ID]: GITHUB.pem } });
  });

  test('a signed alert: live tokens revoked, each match labelled by its hash, no token echoed', async () => {
    const live = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const revoked = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    await tokens.revoke(revoked.id);
    const unknown = otherToken();
    const foreign = otherToken('ghp_');
    const bystander = await tokens.issue({ user: 'bob', expiresIn: '1h' });
    const matches = [
      match(live.token),
      match(revoked.token),
      match(unknown),
      match(foreign),
      match(live.token, ''),
    ];
    const body = JSON.stringify(matches);
    events.length = 0;
    const res = await alert(app, body).expect(200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(res.body, [
      { token_hash: sha256(live.token), token_type: 'acme_personal_token', label: 'true_positive' },
      { token_hash: sha256(revoked.token), token_type: 'acme_personal_token', label: 'true_positive' },
      { token_hash: sha256(unknown), token_type: 'acme_personal_token', label: 'false_positive' },
      { token_hash: sha256(foreign), token_type: 'acme_personal_token', label: 'false_positive' },
      { token_hash: sha256(live.token), token_type: 'acme_personal_token', label: 'true_positive' },
    ]);
    for (const token of [live.token, revoked.token, unknown, foreign]) {
      assert.ok(!res.text.includes(token.slice(10)));
    }
    assert.equal(await tokens.verify(live.token), null);
    assert.ok(await tokens.verify(bystander.token));
    const leaked = events.filter((event) => event.type === 'leaked');
    assert.equal(leaked.length, 1);
    assert.equal(leaked[0]?.type === 'leaked' && leaked[0].source, matches[0]!.url);
    assert.ok(!JSON.stringify(events).includes(live.token.slice(10)));
  });

  test('unsigned, an unknown key, another key, a bad or cut signature, a body changed after signing: 401, nothing revoked', async () => {
    const live = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const body = JSON.stringify([match(live.token)]);
    const changed = JSON.stringify([match(live.token, 'https://github.com/x/y')]);
    const good = signature(body);
    const refusals: { body: string; id?: string | null; signature?: string | null }[] = [
      { body, id: null, signature: null },
      { body, signature: null },
      { body, id: null },
      { body, id: 'no-such-key' },
      { body, id: 'x'.repeat(300) },
      { body, signature: signature(body, STRANGER.privateKey) },
      { body, signature: good.slice(0, -8) },
      { body, signature: Buffer.from('not a signature').toString('base64') },
      { body, signature: 'not base64!' },
      { body, signature: '' },
      // A signed alert replayed with a body of the attacker's: the old signature, the new bytes.
      { body: changed, signature: good },
      { body: `${body} `, signature: good },
      { body: JSON.stringify(JSON.parse(body), null, 1), signature: good },
    ];
    events.length = 0;
    for (const refusal of refusals) {
      const res = await alert(app, refusal.body, refusal).expect(401);
      assert.deepEqual(res.body, { error: 'invalid_signature' });
      assert.ok(!res.text.includes(live.token));
    }
    assert.deepEqual(events, []);
    assert.ok(await tokens.verify(live.token), 'still live');
  });

  test('signed but malformed, empty, not an array, too long, a bad match: 400, nothing revoked', async () => {
    const live = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const small = makeApp({ tokens, publicKeys: { [GITHUB_ID]: GITHUB.pem }, maxMatches: 3 });
    const good = match(live.token);
    const bodies = [
      '',
      'not json',
      `[${JSON.stringify(good)}`,
      '[]',
      '{}',
      JSON.stringify(good),
      'null',
      JSON.stringify([good, good, good, good]),
      JSON.stringify([good, { ...good, token: 42 }]),
      JSON.stringify([good, { ...good, token: '' }]),
      JSON.stringify([good, { type: 'x', url: '' }]),
      JSON.stringify([good, { ...good, url: null }]),
      JSON.stringify([good, { ...good, token: 'x'.repeat(2000) }]),
      JSON.stringify([good, [good]]),
      JSON.stringify([good, null]),
    ];
    for (const body of bodies) {
      const res = await alert(small, body).expect(400);
      assert.ok(!res.text.includes(live.token));
    }
    // Bytes that are no UTF-8, signed.
    const latin1 = Buffer.concat([Buffer.from('[{"token":"'), Buffer.from([0xff]), Buffer.from('"}]')]);
    await request(small)
      .post('/secret-scanning')
      .set('Content-Type', 'application/json')
      .set('Github-Public-Key-Identifier', GITHUB_ID)
      .set('Github-Public-Key-Signature', signature(latin1))
      // As they are: superagent would otherwise send a Buffer as the JSON of a Buffer.
      .serialize((bytes) => bytes)
      .send(latin1)
      .expect(400);
    assert.ok(await tokens.verify(live.token), 'still live');
  });

  test('past 1 MiB 413, another type 415, GET 405 with Allow: nothing revoked', async () => {
    const live = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const huge = JSON.stringify([{ ...match(live.token), pad: 'x'.repeat(1024 * 1024) }]);
    await alert(app, huge).expect(413);
    const body = JSON.stringify([match(live.token)]);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      await request(app)
        .post('/secret-scanning')
        .set('Content-Type', type)
        .set('Github-Public-Key-Identifier', GITHUB_ID)
        .set('Github-Public-Key-Signature', signature(body))
        .send(body)
        .expect(415);
    }
    const res = await request(app).get('/secret-scanning').expect(405);
    assert.equal(res.headers.allow, 'POST');
    assert.ok(await tokens.verify(live.token), 'still live');
  });
});

describe('secretScanningReceiver: lookups, the store down, options', () => {
  test('tokens of another prefix, or no token shape at all, cost no store call', async () => {
    const store = new CountedStore();
    const tokens = new TokenService({ store });
    const app = makeApp({ tokens, publicKeys: new Map([[GITHUB_ID, GITHUB.pem]]) });
    const body = JSON.stringify([
      match(otherToken('ghp_')),
      match('AKIAIOSFODNN7EXAMPLE'),
      match('pat_short'),
    ]);
    const res = await alert(app, body).expect(200);
    assert.deepEqual(
      res.body.map((label: { label: string }) => label.label),
      ['false_positive', 'false_positive', 'false_positive'],
    );
    assert.equal(store.lookups, 0);
  });

  test('the store down: 503 with Retry-After (GitHub sends again)', async () => {
    const tokens = new TokenService({ store: unavailableStore() });
    const app = makeApp({ tokens, publicKeys: { [GITHUB_ID]: GITHUB.pem }, retryAfter: 7 });
    const res = await alert(app, JSON.stringify([match(otherToken())])).expect(503);
    assert.equal(res.headers['retry-after'], '7');
  });

  test('options are checked, and keys must be P-256 public keys', () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    const publicKeys = { [GITHUB_ID]: GITHUB.pem };
    assert.throws(
      () => secretScanningReceiver({ tokens, publicKeys, maxMatch: 3 } as never),
      (error) => error instanceof OptionsError && /maxMatches/.test(error.message),
    );
    assert.throws(() => secretScanningReceiver({ tokens } as never), /publicKeys/);
    assert.throws(() => secretScanningReceiver({ tokens, publicKeys: {} }), /no key/);
    assert.throws(() => secretScanningReceiver({ tokens, publicKeys: { a: 'not a key' } }), /P-256/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    assert.throws(() => secretScanningReceiver({ tokens, publicKeys: { a: rsa.toString() } }), /P-256/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    assert.throws(() => secretScanningReceiver({ tokens, publicKeys: { a: p384.toString() } }), /P-256/);
    assert.throws(() => secretScanningReceiver({ tokens, publicKeys, maxMatches: 0 }), /maxMatches/);
    assert.throws(() => secretScanningReceiver({ tokens, publicKeys, keyTtl: 'soon' }), /duration|soon/i);
  });
});

describe('secretScanningReceiver: the key list fetched from a server', () => {
  let server: Server;
  let url: string;
  let served: SecretScanningPublicKey[] = [];
  let failing = false;
  let fetches = 0;
  before(async () => {
    server = createServer((_req, res) => {
      fetches++;
      if (failing) {
        res.writeHead(500).end('down');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ public_keys: served }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/meta/public_keys/secret_scanning`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const fetchKeys = async () => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`key list: HTTP ${res.status}`);
    return res.json();
  };

  test('fetched once, kept for its TTL, refetched for a new key at most once a minute, shared by concurrent alerts', async () => {
    let time = Date.UTC(2026, 0, 1);
    const tokens = new TokenService({ store: new MemoryTokenStore({ now: () => time }) });
    const app = makeApp({ tokens, publicKeys: fetchKeys, keyTtl: '1h', refetchInterval: '1m' });
    served = [{ key_identifier: GITHUB_ID, key: GITHUB.pem, is_current: true }];
    fetches = 0;
    const live = await tokens.issue({ user: 'alice', expiresIn: '1d' });
    const body = JSON.stringify([match(otherToken())]);
    await Promise.all(Array.from({ length: 10 }, () => alert(app, body).expect(200)));
    assert.equal(fetches, 1, 'concurrent alerts share one fetch');
    // Alerts naming keys that are not in the list: one refetch, then none within the interval.
    time += 61_000;
    for (let i = 0; i < 50; i++) {
      await alert(app, body, { id: `unknown-${i}`, signature: signature(body, STRANGER.privateKey) }).expect(
        401,
      );
    }
    assert.equal(fetches, 2, 'one refetch for 50 unknown keys');
    // GitHub rotates: the stranger's key is listed now. Within the interval it is not asked for...
    served = [...served, { key_identifier: 'rotated', key: STRANGER.pem, is_current: true }];
    const rotated = JSON.stringify([match(live.token)]);
    await alert(app, rotated, { id: 'rotated', signature: signature(rotated, STRANGER.privateKey) }).expect(
      401,
    );
    assert.equal(fetches, 2);
    assert.ok(await tokens.verify(live.token));
    // ...after it, the new key is fetched and verifies.
    time += 61_000;
    const res = await alert(app, rotated, {
      id: 'rotated',
      signature: signature(rotated, STRANGER.privateKey),
    });
    assert.equal(res.status, 200);
    assert.equal(res.body[0].label, 'true_positive');
    assert.equal(fetches, 3);
    // Past the TTL the list is fetched again even for a known key.
    time += 2 * 3_600_000;
    await alert(app, body).expect(200);
    assert.equal(fetches, 4);
  });

  test('the key list unreachable: known keys still verify, an unknown one is 503 (never a pass)', async () => {
    let time = Date.UTC(2026, 0, 1);
    const tokens = new TokenService({ store: new MemoryTokenStore({ now: () => time }) });
    const app = makeApp({ tokens, publicKeys: fetchKeys });
    served = [{ key_identifier: GITHUB_ID, key: GITHUB.pem }];
    failing = false;
    const body = JSON.stringify([match(otherToken())]);
    await alert(app, body).expect(200);
    failing = true;
    time += 2 * 3_600_000;
    await alert(app, body).expect(200);
    const live = await tokens.issue({ user: 'alice', expiresIn: '1d' });
    const forged = JSON.stringify([match(live.token)]);
    await alert(app, forged, { id: 'other', signature: signature(forged, STRANGER.privateKey) }).expect(503);
    assert.ok(await tokens.verify(live.token));
    failing = false;
  });

  test('a list with no usable key, or none at all from the start: 503, nothing revoked', async () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    const app = makeApp({
      tokens,
      publicKeys: async () => ({ public_keys: [{ key_identifier: 'x', key: 'junk' }] }),
    });
    const live = await tokens.issue({ user: 'alice', expiresIn: '1d' });
    await alert(app, JSON.stringify([match(live.token)])).expect(503);
    assert.ok(await tokens.verify(live.token));
  });
});

describe('secretScanningReceiver: random requests', () => {
  test('any body and headers: 2xx or 4xx; the live token revoked only by a signed alert that holds it', async () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    const app = makeApp({ tokens, publicKeys: { [GITHUB_ID]: GITHUB.pem } });
    const target = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const bystander = await tokens.issue({ user: 'bob', expiresIn: '1h' });
    let targetRevoked = false;
    const tokenText = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constantFrom(target.token, target.id, `pat_${bystander.id}`, bystander.token.slice(0, -1)),
    );
    const entry = fc.record(
      { token: tokenText, type: fc.string({ maxLength: 10 }), url: fc.string({ maxLength: 20 }) },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(entry, { maxLength: 4 }).map((entries) => JSON.stringify(entries)),
      fc.jsonValue().map((value) => JSON.stringify(value)),
    );
    const signing = fc.constantFrom('valid', 'stranger', 'none', 'garbage', 'wrong-id');
    await fc.assert(
      fc.asyncProperty(body, signing, fc.string({ maxLength: 30 }), async (sent, how, junk) => {
        const headers =
          how === 'valid'
            ? {}
            : how === 'stranger'
              ? { signature: signature(sent, STRANGER.privateKey) }
              : how === 'none'
                ? { id: null, signature: null }
                : how === 'wrong-id'
                  ? { id: junk.replace(/[^\x21-\x7e]/g, '') || 'x' }
                  : { signature: junk.replace(/[^\x21-\x7e]/g, '') || 'x' };
        const res = await alert(app, sent, headers);
        assert.ok(res.status >= 200 && res.status < 500, `status ${res.status}`);
        assert.ok(!res.text.includes(target.token) && !res.text.includes(bystander.token));
        let parsed: unknown;
        try {
          parsed = JSON.parse(sent);
        } catch {}
        const holdsTarget =
          Array.isArray(parsed) &&
          parsed.some((item) => (item as { token?: unknown } | null)?.token === target.token);
        if (how === 'valid' && res.status === 200 && holdsTarget) targetRevoked = true;
        if (how !== 'valid') assert.notEqual(res.status, 200);
        assert.equal((await tokens.verify(target.token)) === null, targetRevoked);
        assert.ok(await tokens.verify(bystander.token), 'the bystander stays');
      }),
      { numRuns: 300 },
    );
  });
});
