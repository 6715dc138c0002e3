import type { OnEvent, Scheme } from '../events';
import type { ResolveUser } from '../manage/token-maker';
import { TokenService } from '../manage/token-service';
import { checkOptions, optionNames, refuseTogether } from '../option-names';
import type { ResolveAncestors } from '../scopes';
import type { TokenStore } from '../store';
import { assertRealm, DEFAULT_REALM } from './challenges';
import { createDefaultTokenService } from './default-token-service';
import { FailureThrottle, type ThrottleOptions, throttleSettings } from './failure-throttle';

export interface PersonalTokenAuthOptions {
  /** The token service. Without it (and without `store`), Redis at `$REDIS_URL` with prefix `pat:`. */
  tokens?: TokenService;
  /** Shorthand for `tokens: new TokenService({ store })`. */
  store?: TokenStore;
  /** The app's user for a token's login; null/undefined refuses the request (deleted or disabled user). */
  resolveUser?: ResolveUser;
  /** A node's ancestors, so that a scope on a folder covers everything below it. */
  resolveAncestors?: ResolveAncestors;
  /** Which schemes to accept. Default both: `['bearer', 'basic']`. */
  schemes?: readonly Scheme[];
  /** The realm of the challenges. Default `Users`. */
  realm?: string;
  /** Let requests that carry no credentials through untouched (a bad token is still refused). */
  optional?: boolean;
  /** Seconds in the `Retry-After` of a 503 when the store is unavailable. Default 1. */
  retryAfter?: number;
  /** Audit events `authenticated`, `rejected` (with the reason) and `throttled`. Default: the service's `onEvent`. */
  onEvent?: OnEvent;
  /** Failed-authentication throttling per client IP (`req.ip`, so `trust proxy` applies). Off by default. */
  throttle?: ThrottleOptions;
}

const OPTION_NAMES = optionNames<PersonalTokenAuthOptions>({
  tokens: true,
  store: true,
  resolveUser: true,
  resolveAncestors: true,
  schemes: true,
  realm: true,
  optional: true,
  retryAfter: true,
  onEvent: true,
  throttle: true,
});

const SCHEMES: readonly Scheme[] = ['bearer', 'basic'];

/** The middleware's options, read and checked once, with their defaults. */
export interface MiddlewareSettings {
  tokens: TokenService;
  schemes: readonly Scheme[];
  realm: string;
  resolveUser: ResolveUser | undefined;
  resolveAncestors: ResolveAncestors | undefined;
  optional: boolean;
  /** The `Retry-After` of a 503, as sent. */
  retryAfter: string;
  onEvent: OnEvent | undefined;
  throttle: FailureThrottle | undefined;
}

/**
 * Reads the middleware's options. Every option is checked before the service: the default one opens
 * a Redis connection, which a mistake must not leave behind to keep the process alive.
 */
export function middlewareSettings(options: PersonalTokenAuthOptions): MiddlewareSettings {
  checkOptions('personalTokenAuth', options, OPTION_NAMES);
  const schemes = options.schemes ?? SCHEMES;
  if (
    !Array.isArray(schemes) ||
    schemes.length === 0 ||
    schemes.some((scheme) => !SCHEMES.includes(scheme))
  ) {
    throw new TypeError(`schemes must be a non-empty list of ${SCHEMES.map((s) => `'${s}'`).join(', ')}`);
  }
  const realm = options.realm ?? DEFAULT_REALM;
  assertRealm(realm);
  const throttling = options.throttle ? throttleSettings('personalTokenAuth', options.throttle) : undefined;
  const tokens = serviceOf(options);
  return {
    tokens,
    schemes,
    realm,
    resolveUser: options.resolveUser ?? tokens.resolveUser,
    resolveAncestors: options.resolveAncestors,
    optional: options.optional ?? false,
    retryAfter: String(options.retryAfter ?? 1),
    onEvent: options.onEvent ?? tokens.onEvent,
    throttle: throttling ? new FailureThrottle(tokens, throttling) : undefined,
  };
}

/**
 * The service the middleware checks against: `tokens`, or a new one on `store`, or, when the options
 * name neither, the default one on Redis. A `tokens` or `store` that is there but `undefined` is
 * refused rather than read as neither: it is a service or store that did not exist yet, and the
 * default would open a Redis connection in its place.
 */
function serviceOf(options: PersonalTokenAuthOptions): TokenService {
  refuseTogether(
    'personalTokenAuth',
    options,
    'tokens',
    'store',
    'store is short for tokens: new TokenService({ store }), so give the store to the service',
  );
  if (options.tokens !== undefined) {
    if (!(options.tokens instanceof TokenService)) {
      throw new TypeError('personalTokenAuth: tokens must be a TokenService');
    }
    return options.tokens;
  }
  if (options.store !== undefined) return new TokenService({ store: options.store });
  for (const name of ['tokens', 'store'] as const) {
    if (Object.hasOwn(options, name)) {
      throw new TypeError(
        `personalTokenAuth: ${name} is undefined; leave out both tokens and store for the default Redis service`,
      );
    }
  }
  return createDefaultTokenService();
}
