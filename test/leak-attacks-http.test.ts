// The leak endpoints attacked as a hostile client would: `POST /revoke` (leakReportRouter) with bodies
// that are not what RFC 7009 sends and with texts that are almost a live token, and the GitHub
// secret-scanning receiver with malleated and re-encoded signatures, keys of other kinds, a key list
// that never comes and a flood of key identifiers. Memory store: what is attacked is the HTTP side.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, test } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { MemoryTokenStore } from '../adapters/memory';
import {
  leakReportRouter,
  personalTokenAuth,
  type SecretScanningReceiverOptions,
  secretScanningReceiver,
  type TokenEvent,
  TokenService,
} from '../lib/index';

type App = ReturnType<typeof express>;

function service(events: TokenEvent[] = []): TokenService {
  return new TokenService({ store: new MemoryTokenStore(), onEvent: (event) => void events.push(event) });
}

/** The leak report endpoint, and a route that the tokens authenticate on (with a cache, when given). */
function reportApp(tokens: TokenService): App {
  const app = express();
  app.set('trust proxy', 'loopback');
  app.use(leakReportRouter({ tokens, throttle: false }));
  app.get('/me', personalTokenAuth({ tokens }), (_req, res) => void res.json({ ok: true }));
  return app;
}

/** A raw form body, exactly as given (no encoding by the client library). */
const rawReport = (app: App, body: string, type = 'application/x-www-form-urlencoded') =>
  request(app).post('/revoke').set('Content-Type', type).send(body);

const live = async (app: App, token: string) =>
  (await request(app).get('/me').set('Authorization', `Bearer ${token}`)).status === 200;

describe('POST /revoke: texts that are almost a live token revoke nothing', () => {
  const tokens = service();
  const app = reportApp(tokens);

  /** Ways to make a text that is not the token from the token: one character changed, case, width. */
  const nearMiss = (token: string) =>
    fc
      .oneof(
        fc
          .tuple(fc.nat({ max: token.length - 1 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }))
          .filter(([at, char]) => token[at] !== char)
          .map(([at, char]) => token.slice(0, at) + char + token.slice(at + 1)),
        fc.nat({ max: token.length - 1 }).map((at) => {
          const char = token[at]!;
          const other = char === char.toUpperCase() ? char.toLowerCase() : char.toUpperCase();
          return (
            token.slice(0, at) +
            (other === char ? String.fromCharCode(char.charCodeAt(0) + 0xfee0) : other) +
            token.slice(at + 1)
          );
        }),
        fc.constant(token.toUpperCase()),
        fc.constant(token.slice(0, 4 + 16)),
        fc.constant(token.slice(0, -1)),
        fc.constant(`${token}x`),
        fc.constant(token.normalize('NFKD').replace(/_/g, '\uff3f')),
        fc.constant(token.replace(/-/g, '+')),
      )
      .filter((text) => text !== token);

  test('random near misses: 200, empty body, the token still live', async () => {
    const { token } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    await fc.assert(
      fc.asyncProperty(nearMiss(token), fc.boolean(), async (text, plusForSpace) => {
        const encoded = encodeURIComponent(text);
        const res = await rawReport(app, `token=${plusForSpace ? encoded.replace(/%20/g, '+') : encoded}`);
        assert.equal(res.status, 200);
        assert.equal(res.text, '');
        assert.ok(await live(app, token), `revoked by ${JSON.stringify(text)}`);
      }),
      { numRuns: 150 },
    );
  });

  test('a made-up secret behind a live token id, and a text of another prefix: the token still live', async () => {
    const { token, id } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const other = new TokenService({ store: new MemoryTokenStore(), tokenPrefix: 'xyz_' });
    const foreign = await other.issue({ user: 'alice', expiresIn: '1h' });
    for (const text of [
      id,
      `pat_${id}`,
      `pat_${id}${'A'.repeat(66)}`,
      foreign.token,
      foreign.token.replace('xyz_', 'pat_'),
    ]) {
      await rawReport(app, `token=${encodeURIComponent(text)}`).expect(200);
    }
    assert.ok(await live(app, token));
  });
});

describe('POST /revoke: hostile bodies are a 4xx or the same 200, never a 5xx', () => {
  const tokens = service();
  const app = reportApp(tokens);

  test('charsets, encodings, duplicate and bracketed parameters, __proto__, broken escapes', async () => {
    const form = 'application/x-www-form-urlencoded';
    const cases: [string, Record<string, string>, string, number][] = [
      ['utf-16', { 'Content-Type': `${form}; charset=utf-16` }, 'token=x', 415],
      // Read as UTF-8 would read it, for an ASCII token: the same 200.
      ['iso-8859-1', { 'Content-Type': `${form}; charset=iso-8859-1` }, 'token=x', 200],
      ['gzip', { 'Content-Type': form, 'Content-Encoding': 'gzip' }, 'token=x', 415],
      [
        'deflate, identity',
        { 'Content-Type': form, 'Content-Encoding': 'deflate, identity' },
        'token=x',
        415,
      ],
      ['identity', { 'Content-Type': form, 'Content-Encoding': 'identity' }, 'token=x', 200],
      ['JSON', { 'Content-Type': 'application/json' }, '{"token":"x"}', 415],
      ['a repeated token', { 'Content-Type': form }, 'token=a&token=b', 400],
      ['token[]', { 'Content-Type': form }, 'token[]=a', 400],
      ['token[__proto__]', { 'Content-Type': form }, 'token[__proto__]=a', 400],
      ['__proto__', { 'Content-Type': form }, '__proto__=a&constructor=b', 400],
      ['a broken escape', { 'Content-Type': form }, 'token=%E0%A4%A&x=%', 200],
      ['1,001 parameters', { 'Content-Type': form }, Array.from({ length: 1001 }, () => 'a=').join('&'), 400],
    ];
    for (const [name, headers, body, status] of cases) {
      let req = request(app).post('/revoke');
      for (const [header, value] of Object.entries(headers)) req = req.set(header, value);
      const res = await req.send(body);
      assert.ok(res !== undefined, `${name}: no answer`);
      assert.equal(res.status, status, `${name}: ${res.status} ${res.text}`);
      assert.equal(res.headers['cache-control'], 'no-store', name);
    }
  });

  test('random bytes under random form and JSON types: a 4xx or 200, never a 5xx (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 600 }),
        fc.constantFrom(
          'application/x-www-form-urlencoded',
          'application/x-www-form-urlencoded; charset=utf-8',
          'application/x-www-form-urlencoded; charset=latin1',
          'application/json',
          'text/plain',
          'multipart/form-data; boundary=x',
        ),
        async (bytes, type) => {
          const res = await request(app).post('/revoke').set('Content-Type', type).send(Buffer.from(bytes));
          assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${res.status}`);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('random Content-Type and Content-Encoding headers: a 4xx or 200, never a 5xx (fast-check)', async () => {
    const headerText = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
      maxLength: 80,
    });
    const contentType = fc.oneof(
      headerText,
      headerText.map((rest) => `application/x-www-form-urlencoded${rest}`),
      headerText.map((rest) => `application/x-www-form-urlencoded; charset=${rest}`),
    );
    await fc.assert(
      fc.asyncProperty(contentType, fc.option(headerText), async (type, encoding) => {
        let req = request(app).post('/revoke').set('Content-Type', type);
        if (encoding !== null) req = req.set('Content-Encoding', encoding);
        const res = await req.send(Buffer.from('token=pat_x'));
        assert.ok(
          res.status === 200 || (res.status >= 400 && res.status < 500),
          `${res.status} for ${type} / ${encoding}`,
        );
      }),
      { numRuns: 200 },
    );
  });

  test('a token with the newline an editor leaves at the end of a file is revoked, not answered 200 in vain', async () => {
    for (const around of ['\n', '\r\n', ' ', '\t']) {
      const { token } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
      await rawReport(app, `token=${encodeURIComponent(`${token}${around}`)}`).expect(200);
      assert.equal(
        await live(app, token),
        false,
        `a token followed by ${JSON.stringify(around)} stayed live`,
      );
    }
    const { token } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    // `+` is a space in a form: `token=<token>+` is the token and a space.
    await rawReport(app, `token=${token}+`).expect(200);
    assert.equal(await live(app, token), false);
  });

  test('a cached service refuses the token on its very next request after the 200', async () => {
    const cached = new TokenService({ store: new MemoryTokenStore(), cache: {} });
    const cachedApp = reportApp(cached);
    const { token } = await cached.issue({ user: 'alice', expiresIn: '1h' });
    assert.ok(await live(cachedApp, token));
    assert.ok(await live(cachedApp, token));
    await rawReport(cachedApp, `token=${token}`).expect(200);
    assert.equal(await live(cachedApp, token), false);
  });
});

// --- GitHub secret-scanning alerts ----------------------------------------------------------------

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function keyPair(namedCurve = 'P-256') {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
const GITHUB = keyPair();
const GITHUB_ID = createHash('sha256').update('attack test key').digest('hex');

/** r and s of a P-256 signature over `body`. */
function signatureParts(body: string, key: KeyObject = GITHUB.privateKey): { r: bigint; s: bigint } {
  const raw = sign('sha256', Buffer.from(body), { key, dsaEncoding: 'ieee-p1363' });
  return {
    r: BigInt(`0x${raw.subarray(0, 32).toString('hex')}`),
    s: BigInt(`0x${raw.subarray(32).toString('hex')}`),
  };
}

/** A DER INTEGER of a non-negative number. */
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

const der = (r: bigint, s: bigint) => {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
};

function receiverApp(tokens: TokenService, options: Partial<SecretScanningReceiverOptions> = {}): App {
  const app = express();
  app.use(secretScanningReceiver({ tokens, publicKeys: { [GITHUB_ID]: GITHUB.pem }, ...options }));
  app.get('/me', personalTokenAuth({ tokens }), (_req, res) => void res.json({ ok: true }));
  return app;
}

const alert = (app: App, body: string, signature: string | Buffer, id = GITHUB_ID) =>
  request(app)
    .post('/secret-scanning')
    .set('Content-Type', 'application/json')
    .set('Github-Public-Key-Identifier', id)
    .set('Github-Public-Key-Signature', Buffer.isBuffer(signature) ? signature.toString('base64') : signature)
    .send(body);

const alertBody = (token: string) =>
  JSON.stringify([{ token, type: 'acme_token', url: 'https://github.com/o/r/blob/x/a', source: 'content' }]);

describe('secret-scanning receiver: signatures', () => {
  test('a high-S twin of a valid signature verifies (ECDSA malleability) but only for the same bytes', async () => {
    const tokens = service();
    const app = receiverApp(tokens);
    const { token } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const body = alertBody(token);
    const { r, s } = signatureParts(body);
    const low = s > P256_ORDER / 2n ? P256_ORDER - s : s;
    const first = await alert(app, body, der(r, low)).expect(200);
    // OpenSSL accepts both S values. That changes nothing here: the signature is no identifier, and
    // a replayed alert (in either form) only repeats a revocation that has happened.
    const twin = await alert(app, body, der(r, P256_ORDER - low)).expect(200);
    assert.deepEqual(twin.body, first.body);
    assert.equal(first.body[0].label, 'true_positive');
    const { token: other } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    await alert(app, alertBody(other), der(r, P256_ORDER - low)).expect(401);
    assert.ok(await live(app, other));
  });

  test('raw (IEEE P1363) signatures, DER with trailing bytes, BER long lengths, zero and order values: 401', async () => {
    const tokens = service();
    const app = receiverApp(tokens);
    const { token } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const body = alertBody(token);
    const { r, s } = signatureParts(body);
    const valid = der(r, s);
    const longForm = Buffer.concat([Buffer.from([0x30, 0x81, valid.length - 2]), valid.subarray(2)]);
    const forged = [
      sign('sha256', Buffer.from(body), { key: GITHUB.privateKey, dsaEncoding: 'ieee-p1363' }),
      Buffer.concat([valid, Buffer.from([0])]),
      longForm,
      der(r, s + P256_ORDER),
      der(0n, 0n),
      der(P256_ORDER, P256_ORDER),
      der(r, 0n),
    ];
    for (const signature of forged) await alert(app, body, signature).expect(401);
    assert.ok(await live(app, token));
  });

  test('keys of other curves, Ed25519 and RSA: refused as fixed keys, left out of a fetched list', async () => {
    const tokens = service();
    const others = [
      keyPair('P-384'),
      keyPair('secp256k1'),
      (() => {
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
      })(),
      (() => {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
        return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
      })(),
    ];
    for (const other of others) {
      assert.throws(() => secretScanningReceiver({ tokens, publicKeys: { k: other.pem } }), TypeError);
    }
    const list = others.map((other, at) => ({ key_identifier: `k${at}`, key: other.pem, is_current: true }));
    const app = receiverApp(tokens, {
      publicKeys: async () => ({ public_keys: [...list, { key_identifier: GITHUB_ID, key: GITHUB.pem }] }),
    });
    const { token } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const body = alertBody(token);
    for (const [at, other] of others.entries()) {
      const algorithm = at === 2 ? null : 'sha256';
      await alert(app, body, sign(algorithm, Buffer.from(body), other.privateKey), `k${at}`).expect(401);
    }
    assert.ok(await live(app, token));
  });

  test('a flood of made-up key identifiers: one fetch per interval, nothing kept per identifier', async () => {
    const tokens = service();
    let fetches = 0;
    const app = receiverApp(tokens, {
      publicKeys: async () => {
        fetches++;
        return [{ key_identifier: GITHUB_ID, key: GITHUB.pem }];
      },
    });
    const body = alertBody('pat_x');
    const signature = der(...(Object.values(signatureParts(body)) as [bigint, bigint]));
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 300 }), async (id) => {
        const res = await alert(app, body, signature, id.replace(/[^\x21-\x7e]/g, 'x'));
        assert.ok(
          res.status === 401 || (res.status === 200 && id.replace(/[^\x21-\x7e]/g, 'x') === GITHUB_ID),
        );
      }),
      { numRuns: 200 },
    );
    for (const id of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      await alert(app, body, signature, id).expect(401);
    }
    assert.equal(fetches, 1);
  });

  test('an alert whose JSON holds __proto__ and constructor keys: 400, no crash, nothing revoked', async () => {
    const tokens = service();
    const app = receiverApp(tokens);
    const { token } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    for (const body of [
      `[{"__proto__":{"token":"${token}","type":"t","url":""}}]`,
      `[{"token":"${token}","type":"t","url":"","__proto__":null,"constructor":{"prototype":{"x":1}}}]`,
      `{"0":{"token":"${token}","type":"t","url":""},"length":1}`,
    ]) {
      const { r, s } = signatureParts(body);
      const res = await alert(app, body, der(r, s));
      if (body.includes('constructor')) {
        // Own keys that are not read: a match as any other, and its token revoked.
        assert.equal(res.status, 200);
      } else {
        assert.equal(res.status, 400);
      }
    }
    assert.equal(({} as { token?: unknown }).token, undefined);
    assert.equal(({} as { x?: unknown }).x, undefined);
  });
});

describe('secret-scanning receiver: a key list that never comes', () => {
  test('an alert is answered 503 once the fetch is overdue, and the next alert fetches again', async () => {
    const tokens = service();
    let fetches = 0;
    const app = receiverApp(tokens, {
      publicKeys: () => {
        fetches++;
        // The first fetch hangs for ever (a server that accepts and never answers), the next one answers.
        return fetches === 1
          ? new Promise(() => {})
          : Promise.resolve([{ key_identifier: GITHUB_ID, key: GITHUB.pem }]);
      },
      keyFetchTimeout: 50,
      refetchInterval: 1,
    });
    const { token } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const body = alertBody(token);
    const { r, s } = signatureParts(body);
    const hung = await alert(app, body, der(r, s));
    assert.equal(hung.status, 503);
    assert.equal(hung.headers['retry-after'], '1');
    assert.ok(await live(app, token));
    const next = await alert(app, body, der(r, s)).expect(200);
    assert.equal(next.body[0].label, 'true_positive');
    assert.equal(await live(app, token), false);
  });

  test('keyFetchTimeout is checked like any duration option', () => {
    const tokens = service();
    assert.throws(() =>
      secretScanningReceiver({ tokens, publicKeys: async () => [], keyFetchTimeout: 'soon' }),
    );
    assert.throws(() => secretScanningReceiver({ tokens, publicKeys: async () => [], keyFetchTimeout: 0 }));
    // Past setTimeout's range a timer fires at once, and every fetch would fail.
    assert.throws(
      () => secretScanningReceiver({ tokens, publicKeys: async () => [], keyFetchTimeout: '30d' }),
      /keyFetchTimeout must be at most 24 days/,
    );
    secretScanningReceiver({ tokens, publicKeys: async () => [], keyFetchTimeout: '24d' });
  });
});
