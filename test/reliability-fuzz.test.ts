// Property-based fuzzing of the Authorization header over real HTTP: random bytes, broken base64,
// huge values, many colons, empty logins and passwords, odd scheme casing and spacing, non-UTF-8,
// tokens with a valid shape and a wrong checksum (or a right checksum and a wrong secret), revoked
// tokens, and valid tokens of another user. Whatever arrives, the answer is a 400 or 401 with a
// challenge, or a pass for exactly the right login:token, never a 5xx and never a crash.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import express from 'express';
import fc from 'fast-check';
import passport from 'passport';
import { MemoryTokenStore } from '../adapters/memory';
import {
  BasicTokenStrategy,
  BearerTokenStrategy,
  type IssuedToken,
  personalTokenAuth,
  TokenService,
} from '../lib/index';
import { type AuthServer, startAuthServer } from './support/auth-server';
import { httpGet } from './support/http-load';

const NUM_RUNS = 10_000;
// Node refuses request headers above 16 KiB in total (431) before any middleware runs: stay below.
const MAX_VALUE = 15_000;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The documented token layout: prefix + 16 hex id + 43 base64url secret + 6 base62 CRC32. */
function withChecksum(body: string): string {
  let crc = crc32(body);
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = BASE62[crc % 62] + out;
    crc = Math.floor(crc / 62);
  }
  return body + out;
}

interface FuzzCase {
  /** The header, or undefined for none. */
  header: string | undefined;
  /** If this may pass, as whom (the token's owner and id); a pass for anything else is a failure. */
  passesAs?: { login: string; tokenId: string };
  /** A well-formed, right credential: it must pass. */
  mustPass?: boolean;
  label: string;
}

/** Characters a header value may carry on the wire (HTAB, visible ASCII, obs-text as latin1). */
function headerSafe(text: string): string {
  return text.replace(/[^\t\x20-\x7e\x80-\xff]/g, (c) =>
    String.fromCharCode(0x20 + (c.charCodeAt(0) % 0x5f)),
  );
}

function arbitraries(people: { alice: IssuedToken; bob: IssuedToken; revoked: IssuedToken }) {
  const { alice, bob, revoked } = people;
  const live = [alice, bob];
  const scheme = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR', 'Basic', 'basic', 'BASIC', 'bAsIc');
  const otherScheme = fc.constantFrom('Token', 'Digest', 'Negotiate', 'Bearer:', 'Basic,', 'Bear er', '');
  const separator = fc.constantFrom(' ', ' ', ' ', '  ', '\t', '', ' \t ', '   ');
  const latin1 = fc
    .uint8Array({ maxLength: 300 })
    .map((bytes) => headerSafe(Buffer.from(bytes).toString('latin1')));
  const huge = fc
    .tuple(fc.integer({ min: 1000, max: MAX_VALUE }), fc.constantFrom('A', '=', ':', 'é', 'pat_', '+/'))
    .map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n));
  const token68 = fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,120}=*$/);
  const anyText = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    latin1,
  );

  /** Bent versions of a real token: one character changed, cut, extended, re-prefixed. */
  const bentToken = fc
    .tuple(fc.constantFrom(...live, revoked), fc.nat(), fc.constantFrom(...(BASE62 + '-_')))
    .chain(([token, at, char]) => {
      const text = token.token;
      const i = at % text.length;
      return fc.constantFrom(
        // Always a different character, so the bent token never equals the real one.
        text.slice(0, i) + (text[i] !== char ? char : char === '0' ? '1' : '0') + text.slice(i + 1),
        text.slice(0, i),
        text + char,
        `PAT_${text.slice(4)}`,
        text.slice(4),
        `${text} ${text}`,
        text.toUpperCase(),
      );
    });
  /** The right shape and checksum, but not a live token: random, alice's id with a wrong secret, revoked. */
  const wellFormedStranger = fc.constantFrom('random', 'alice-id', 'revoked').map((kind) => {
    if (kind === 'revoked') return revoked.token;
    const id = kind === 'alice-id' ? alice.id : randomBytes(8).toString('hex');
    return withChecksum(`pat_${id}${randomBytes(32).toString('base64url')}`);
  });
  const password = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(alice.token, bob.token, revoked.token) },
    { weight: 2, arbitrary: bentToken },
    { weight: 1, arbitrary: wellFormedStranger },
    { weight: 1, arbitrary: fc.constantFrom('', ':', '::::', `${alice.token}:`, `:${alice.token}`) },
    { weight: 1, arbitrary: anyText },
  );
  const login = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom('alice', 'bob', '', 'ALICE', 'alice ', ' alice', 'mallory', 'ålice'),
    },
    { weight: 1, arbitrary: anyText },
  );

  const cases: fc.Arbitrary<FuzzCase>[] = [
    fc.constant<FuzzCase>({ header: undefined, label: 'no header' }),
    latin1.map((text) => ({ header: text, label: 'random bytes' })),
    fc.tuple(scheme, separator, fc.oneof(token68, anyText, huge)).map(([s, sep, value]) => ({
      header: `${s}${sep}${value}`,
      label: 'scheme + junk',
    })),
    fc.tuple(otherScheme, separator, fc.constantFrom(alice.token, bob.token)).map(([s, sep, value]) => ({
      header: `${s}${sep}${value}`,
      label: 'other scheme + real token',
    })),
    // Bearer with a real token: passes for its owner (1+ spaces is the grammar; tabs may be refused).
    fc
      .tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR'), separator, fc.constantFrom(...live))
      .map(([s, sep, token]) => ({
        header: `${s}${sep}${token.token}`,
        passesAs: { login: token.user, tokenId: token.id },
        mustPass: /^ +$/.test(sep),
        label: 'bearer real token',
      })),
    fc
      .tuple(fc.constantFrom('Bearer', 'bearer'), fc.oneof(bentToken, wellFormedStranger))
      .map(([s, value]) => ({
        header: `${s} ${value}`,
        label: 'bearer bent or stranger token',
      })),
    // Basic: only the owner's login with the owner's token passes.
    fc
      .tuple(fc.constantFrom('Basic', 'basic', 'BASIC'), login, password, fc.nat(3))
      .map(([s, user, pass, encoding]) => {
        const raw = Buffer.from(`${user}:${pass}`, 'utf8').toString('base64');
        const encoded = [
          raw,
          raw.replace(/=+$/, ''),
          raw.replace(/\+/g, '-').replace(/\//g, '_'),
          `${raw.slice(0, 4)} ${raw.slice(4)}`,
        ][encoding]!;
        const owner = live.find((token) => token.token === pass);
        const right = owner !== undefined && owner.user === user;
        return {
          header: `${s} ${encoded}`,
          passesAs: right ? { login: owner.user, tokenId: owner.id } : undefined,
          // Standard base64 (padded or not, the encodings differ only when the input needs them).
          mustPass: right && (encoding === 0 || encoded === raw.replace(/=+$/, '')),
          label: 'basic login:password',
        };
      }),
    // Basic with bytes that are not UTF-8 around a real token, or many colons.
    fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.constantFrom(alice.token, ''), fc.nat(5))
      .map(([bytes, token, colons]) => ({
        header: `Basic ${Buffer.concat([Buffer.from(bytes), Buffer.from(':'.repeat(colons) + token)]).toString('base64')}`,
        label: 'basic raw bytes',
      })),
    fc
      .tuple(fc.constantFrom('Basic ', 'Basic  ', 'basic '), fc.oneof(token68, latin1, huge))
      .map(([s, value]) => ({
        header: `${s}${value}`,
        label: 'basic invalid base64',
      })),
    huge.map((value) => ({
      header: `Basic ${Buffer.from(`alice:${value}`).toString('base64').slice(0, MAX_VALUE)}`,
      label: 'basic huge',
    })),
  ];
  // What a client cannot put on the wire (NUL, CR, LF, beyond latin1) is mapped to what it can.
  return fc
    .oneof(...cases)
    .map((fuzz) => ({ ...fuzz, header: fuzz.header === undefined ? undefined : headerSafe(fuzz.header) }));
}

function checkResponse(
  fuzz: FuzzCase,
  result: { status: number; headers: Record<string, unknown>; body: string },
): void {
  const where = `${fuzz.label}: ${JSON.stringify(fuzz.header?.slice(0, 200))} -> ${result.status} ${result.body.slice(0, 200)}`;
  assert.ok([200, 400, 401].includes(result.status), `only 200, 400 or 401 (${where})`);
  if (result.status === 200) {
    assert.ok(fuzz.passesAs, `passed without the right login:token (${where})`);
    const body = JSON.parse(result.body) as { login: string; tokenId: string };
    assert.deepEqual({ login: body.login, tokenId: body.tokenId }, fuzz.passesAs, where);
  } else {
    const challenge = String(result.headers['www-authenticate'] ?? '');
    assert.match(challenge, /^(Bearer|Basic) realm="[^"]+"/, `a refusal carries a challenge (${where})`);
    assert.ok(!fuzz.mustPass, `a right credential was refused (${where})`);
  }
}

describe('fuzzing the Authorization header', () => {
  let tokens: TokenService;
  let people: { alice: IssuedToken; bob: IssuedToken; revoked: IssuedToken };
  let middlewareApp: AuthServer;
  let passportApp: AuthServer;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  before(async () => {
    tokens = new TokenService({ store: new MemoryTokenStore() });
    people = {
      alice: await tokens.issue({ user: 'alice', expiresIn: '1h' }),
      bob: await tokens.issue({ user: 'bob', autoRefresh: '1h' }),
      revoked: await tokens.issue({ user: 'alice', expiresIn: '1h' }),
    };
    await tokens.revoke(people.revoked.id);
    middlewareApp = await startAuthServer(personalTokenAuth({ tokens }));
    // The same through passport, for apps that run the strategies themselves.
    const authenticator = new passport.Passport();
    authenticator.use(new BearerTokenStrategy({ tokens }));
    authenticator.use(new BasicTokenStrategy({ tokens }));
    passportApp = await startAuthServer(
      express
        .Router()
        .use(authenticator.initialize(), authenticator.authenticate(['bearer', 'basic'], { session: false })),
    );
  });
  after(async () => {
    agent.destroy();
    await middlewareApp?.close();
    await passportApp?.close();
  });

  test(`personalTokenAuth(): ${NUM_RUNS} random headers, only 400/401 with a challenge or the right pass`, {
    timeout: 120_000,
  }, async (t) => {
    const labels: Record<string, number> = {};
    const statuses: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(arbitraries(people), async (fuzz) => {
        const headers: Record<string, string> =
          fuzz.header === undefined ? {} : { authorization: fuzz.header };
        const result = await httpGet(`${middlewareApp.url}/whoami`, headers, { agent });
        labels[fuzz.label] = (labels[fuzz.label] ?? 0) + 1;
        statuses[result.status] = (statuses[result.status] ?? 0) + 1;
        checkResponse(fuzz, result);
      }),
      { numRuns: NUM_RUNS },
    );
    t.diagnostic(`cases: ${JSON.stringify(labels)} statuses: ${JSON.stringify(statuses)}`);
    assert.ok((statuses[200] ?? 0) > 100 && (statuses[401] ?? 0) > 100 && (statuses[400] ?? 0) > 100);
  });

  test('the passport strategies: 2,000 random headers, the same rules', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(arbitraries(people), async (fuzz) => {
        const headers: Record<string, string> =
          fuzz.header === undefined ? {} : { authorization: fuzz.header };
        const result = await httpGet(`${passportApp.url}/whoami`, headers, { agent });
        assert.ok([200, 400, 401].includes(result.status), `${fuzz.label}: ${result.status}`);
        if (result.status === 200) {
          assert.ok(fuzz.passesAs, `passport let through ${fuzz.label}: ${JSON.stringify(fuzz.header)}`);
        } else if (result.status === 401) {
          assert.match(String(result.headers['www-authenticate'] ?? ''), /realm="/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
