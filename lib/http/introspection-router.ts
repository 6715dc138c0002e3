import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import { emit } from '../events';
import type { TokenInfo } from '../manage/token-info';
import { TokenService } from '../manage/token-service';
import { checkOptions, optionNames } from '../option-names';
import { INTROSPECT_SCOPE } from '../scopes';
import { assertRealm, basicChallenge, bearerChallenge } from './challenges';
import { clientIp } from './client-ip';
import { FailureThrottle, type ThrottleOptions, throttleSettings } from './failure-throttle';
import { authenticateCredentials, type Credentials, readCredentials } from './middleware';
import { answerThrottled, bodyLimitOption, formBody, mountPostEndpoint } from './post-endpoint';

/**
 * The clients that may ask with HTTP Basic: their ids and secrets, as an object or a Map, or a
 * function that looks a client's secret up (undefined or null for no such client).
 */
export type IntrospectionClients =
  | Readonly<Record<string, string>>
  | ReadonlyMap<string, string>
  | ((id: string) => string | null | undefined | Promise<string | null | undefined>);

/**
 * Token introspection (RFC 7662) at `POST /introspect`, so that a service in any language can ask
 * whether a token is live and whose it is. The caller authenticates as a client: HTTP Basic with an
 * id and secret of `clients`, or a personal token with the `introspect` scope as Bearer.
 */
export interface IntrospectionRouterOptions {
  /** The service whose tokens are asked about. */
  tokens: TokenService;
  /** Clients that authenticate with HTTP Basic. Without it, only tokens with the `introspect` scope may ask. */
  clients?: IntrospectionClients;
  /**
   * Whether an introspection counts as a use of the token asked about: a sliding token's expiry moves
   * on and `lastUsedAt` is written, as for a request the token made. Default false: it only reads.
   */
  touch?: boolean;
  /** Failed client authentication throttling per client IP (`req.ip`). Off by default. */
  throttle?: ThrottleOptions;
  /** The realm of the challenges. Default `Introspection`. */
  realm?: string;
  /** Seconds in the `Retry-After` of a 503 when the store is unavailable. Default 1. */
  retryAfter?: number;
  /** Largest form body accepted, in bytes. Default 8 KiB: a token is about a hundred bytes. */
  bodyLimit?: number;
}

const OPTION_NAMES = optionNames<IntrospectionRouterOptions>({
  tokens: true,
  clients: true,
  touch: true,
  throttle: true,
  realm: true,
  retryAfter: true,
  bodyLimit: true,
});

/** The path the router answers at. */
export const INTROSPECTION_PATH = '/introspect';
const DEFAULT_REALM = 'Introspection';

/**
 * The one answer for every token that is not live, whatever the reason: a caller learns nothing more
 * (nor could it tell a revoked token from one that never existed by its bytes).
 */
const INACTIVE = JSON.stringify({ active: false });

/** Who asked, once authenticated. */
type Client =
  | { clientId: string; callerTokenId?: undefined }
  | { clientId?: undefined; callerTokenId: string };
type ClientCheck = { ok: true; client: Client } | { ok: false };
const REFUSED: ClientCheck = { ok: false };

// Clients whose forwarded address is not one share a single throttling key.
const NO_ADDRESS = 'no-address';

/** Express router for RFC 7662 introspection (see `IntrospectionRouterOptions`). */
export function introspectionRouter(options: IntrospectionRouterOptions): Router {
  checkOptions('introspectionRouter', options, OPTION_NAMES);
  const { tokens } = options;
  if (!(tokens instanceof TokenService)) {
    throw new TypeError('introspectionRouter needs { tokens: TokenService }');
  }
  const secretOf = clientLookup(options.clients);
  const touch = options.touch ?? false;
  if (typeof touch !== 'boolean') throw new TypeError('introspectionRouter: touch must be true or false');
  const realm = options.realm ?? DEFAULT_REALM;
  assertRealm(realm);
  const retryAfter = String(options.retryAfter ?? 1);
  const throttle = options.throttle
    ? new FailureThrottle(tokens, throttleSettings('introspectionRouter', options.throttle))
    : undefined;
  // Basic first: some proxies pass only the first challenge on. No Basic without clients to ask.
  const challenges = [...(secretOf ? [basicChallenge(realm)] : []), bearerChallenge(realm, 'invalid_token')];

  /** A client's id and secret, checked in constant time, also for an id that names no client. */
  async function basicClient(id: string, secret: string): Promise<ClientCheck> {
    if (!secretOf) return REFUSED;
    const expected = await secretOf(id);
    const known = typeof expected === 'string' && expected.length > 0;
    const matches = timingSafeEqual(digest(secret), known ? digest(expected) : UNKNOWN_CLIENT_DIGEST);
    return known && matches ? { ok: true, client: { clientId: id } } : REFUSED;
  }

  /** A personal token that may ask: live, its user known, and with the `introspect` scope. */
  async function tokenClient(credentials: Credentials): Promise<ClientCheck> {
    const outcome = await authenticateCredentials(credentials, {
      checker: tokens.checker,
      schemes: ['bearer'],
      resolveUser: tokens.resolveUser,
    });
    if (outcome.kind !== 'success' || !outcome.info.scopes.includes(INTROSPECT_SCOPE)) return REFUSED;
    return { ok: true, client: { callerTokenId: outcome.info.tokenId } };
  }

  function authenticateClient(credentials: Credentials): Promise<ClientCheck> {
    if (credentials.scheme === 'basic') return basicClient(credentials.login, credentials.password);
    if (credentials.scheme === 'bearer') return tokenClient(credentials);
    return Promise.resolve(REFUSED);
  }

  async function introspect(req: Request, res: Response): Promise<void> {
    const credentials = readCredentials(req.headers.authorization);
    // Only attempts are throttled: a request without credentials costs no lookup and never counts.
    const ip = clientIp(req);
    let checked: ClientCheck;
    if (throttle && credentials.scheme !== 'none') {
      const guarded = await throttle.guard(
        ip ?? NO_ADDRESS,
        () => authenticateClient(credentials),
        (check) => !check.ok,
      );
      if (!('outcome' in guarded)) {
        answerThrottled(res, tokens, ip ?? NO_ADDRESS, guarded.retryAfter);
        return;
      }
      checked = guarded.outcome;
    } else {
      checked = await authenticateClient(credentials);
    }
    if (!checked.ok) {
      res.status(401).set('WWW-Authenticate', challenges).json({ error: 'invalid_client' });
      return;
    }
    const token = (req.body as Record<string, unknown> | undefined)?.token;
    if (typeof token !== 'string' || token.length === 0) {
      res.status(400).json({ error: 'invalid_request' });
      return;
    }
    const result = await tokens.authenticate(token, { touch });
    emit(tokens.onEvent, {
      type: 'introspected',
      time: new Date(tokens.now()),
      tokenId: result.ok ? result.token.id : result.tokenId,
      active: result.ok,
      clientId: checked.client.clientId,
      callerTokenId: checked.client.callerTokenId,
      ip,
    });
    res.status(200).type('application/json');
    res.send(result.ok ? JSON.stringify(activeAnswer(result.token)) : INACTIVE);
  }

  const express = loadExpress();
  const router = express.Router();
  const bodyLimit = bodyLimitOption('introspectionRouter', options.bodyLimit ?? 8 * 1024);
  mountPostEndpoint(
    router,
    INTROSPECTION_PATH,
    { body: formBody(express, bodyLimit, false), retryAfter },
    introspect,
  );
  return router;
}

/** The RFC 7662 answer for a live token; times in seconds, as JWT's. */
function activeAnswer(token: TokenInfo): Record<string, unknown> {
  const answer: Record<string, unknown> = {
    active: true,
    sub: token.user,
    username: token.user,
    // Space-separated, as RFC 7662 has it; empty for an unscoped token: the user's full access.
    scope: token.scopes.join(' '),
    token_type: 'Bearer',
    // When it expires unless used again: a sliding token's expiry moves on with each use.
    exp: seconds(token.expiresAt),
    iat: seconds(token.createdAt),
    jti: token.id,
  };
  if (token.hardExpiresAt !== null) answer.hard_exp = seconds(token.hardExpiresAt);
  return answer;
}

// Down, not to the nearest: a caller that checks `exp` itself never keeps a token past its end.
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** The SHA-256 of a secret: equal lengths for `timingSafeEqual`, whatever the secrets' lengths. */
const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
// What a secret is compared with when the id names no client, so that the time does not tell.
const UNKNOWN_CLIENT_DIGEST = digest(randomBytes(32).toString('base64url'));

/** `clients` as one lookup, checked; undefined when there are none. */
function clientLookup(
  clients: IntrospectionClients | undefined,
): ((id: string) => Promise<string | null | undefined>) | undefined {
  if (clients === undefined) return undefined;
  if (typeof clients === 'function') return async (id) => clients(id);
  if (typeof clients !== 'object' || clients === null) {
    throw new TypeError('introspectionRouter: clients must map client ids to secrets, or be a function');
  }
  const entries = clients instanceof Map ? [...clients] : Object.entries(clients);
  const secrets = new Map<string, string>();
  for (const [id, secret] of entries) {
    // A Basic user-id ends at the first colon (RFC 7617): such an id could never authenticate.
    if (typeof id !== 'string' || id.length === 0 || id.includes(':')) {
      throw new TypeError('introspectionRouter: a client id must be non-empty text without ":"');
    }
    if (typeof secret !== 'string' || secret.length === 0) {
      throw new TypeError(`introspectionRouter: the secret of client "${id}" must be non-empty text`);
    }
    secrets.set(id, secret);
  }
  if (secrets.size === 0) throw new TypeError('introspectionRouter: clients names no client');
  return async (id) => secrets.get(id);
}

/** Express is loaded when a router is made, not when the package is (see tokenRouter). */
function loadExpress(): typeof import('express') {
  return require('express');
}
