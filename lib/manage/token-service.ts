import { CACHE_OPTION_NAMES, TokenCache, type TokenCacheOptions } from '../check/token-cache';
import type { Refusal } from '../check/token-checker';
import { TokenChecker } from '../check/token-checker';
import { MAX_TIMER_MS } from '../duration';
import type { OnEvent } from '../events';
import { checkOptions, optionNames } from '../option-names';
import type { TokenStore } from '../store';
import { assertTokenPrefix, DEFAULT_TOKEN_PREFIX, tokenLikeText } from '../token-format';
import type { Caller } from './caller-bounds';
import type { IssueForOptions, IssueOptions, RotateOptions } from './issue-options';
import type { LeakVerdict, RevokeLeakedOptions } from './leak-source';
import { ManagedStore } from './managed-store';
import { type IssuedToken, type TokenInfo, type TokenInfoPage, toInfo } from './token-info';
import { TokenIssuer } from './token-issuer';
import { parseTokenLimits, type TokenLimits } from './token-limits';
import { type ListExpiringOptions, type ListPageOptions, TokenLister } from './token-lister';
import { type CanAccess, type ResolveUser, TokenMaker } from './token-maker';
import { TokenRevoker } from './token-revoker';

export interface TokenServiceOptions {
  store: TokenStore;
  /** Text every token starts with. Default `pat_`. */
  tokenPrefix?: string;
  /** Clock in ms. Defaults to the store's clock, so that one injected clock drives both. */
  now?: () => number;
  /**
   * Deadline for each store call, in ms. Default 1000. Calls that take access away (revoke,
   * revokeAll's batches, rotation) get this plus the store's `revocationWait`, the time it may wait
   * for its replicas to confirm them (the Redis store's `durableRevocation.timeout`): a confirmation
   * that fails says so (`RevocationNotDurableError`) rather than losing the race to this deadline.
   */
  timeout?: number;
  /** How often at most a token's `lastUsedAt` is written, in ms. Default 60000. */
  touchInterval?: number;
  /** Refuse to issue for unknown users; also the middleware's default `resolveUser`. */
  resolveUser?: ResolveUser;
  /** Refuse a scope on a node the user cannot reach in the first place. */
  canAccess?: CanAccess;
  /**
   * Record the client IP with `lastUsedAt`, and the token's last 5 distinct IPs (`recentIps`): an IP
   * new to the token is written at once, at most once a second per token, with a `new-ip` event.
   * Personal data in some jurisdictions, hence opt-in.
   */
  trackIp?: boolean;
  /**
   * The most live tokens one user may have; issuing past it throws `TokenLimitError`. Default 100.
   * The store counts and saves in one atomic step: it holds however many issues race. Each limit
   * below is lifted with `Infinity`.
   */
  maxTokensPerUser?: number;
  /** The most scopes one token may carry (`TokenPolicyError` `ERR_TOO_MANY_SCOPES`). Default 50. */
  maxScopesPerToken?: number;
  /** The longest hard limit, `'366d'` or ms (`TokenPolicyError` `ERR_EXPIRY_TOO_LONG`). Default 366 days. */
  maxExpiresIn?: string | number;
  /**
   * The longest sliding window, `'30d'` or ms (`TokenPolicyError` `ERR_WINDOW_TOO_LONG`): how long a
   * token may lie unused. Default 30 days.
   */
  maxAutoRefresh?: string | number;
  /** Audit events: issued, revoked, rotated (and, through the middleware, authenticated, rejected, throttled). */
  onEvent?: OnEvent;
  /**
   * Keep successful checks in this process for a short while, so that a token used again costs no
   * store call (see docs/cache.md). Off by default, and with `false` or `null`. Needs a store with an invalidation channel
   * (`TokenStore.invalidations`: the memory and Redis stores have one), or throws a `TypeError`.
   */
  cache?: TokenCacheOptions;
  /** Called by `close()`: how `personalTokenAuth()` quits the Redis client it created itself. */
  onClose?: () => Promise<void>;
}

const OPTION_NAMES = optionNames<TokenServiceOptions>({
  store: true,
  tokenPrefix: true,
  now: true,
  timeout: true,
  touchInterval: true,
  resolveUser: true,
  canAccess: true,
  trackIp: true,
  maxTokensPerUser: true,
  maxScopesPerToken: true,
  maxExpiresIn: true,
  maxAutoRefresh: true,
  onEvent: true,
  cache: true,
  onClose: true,
});

export type Authentication = { ok: true; token: TokenInfo } | Refusal;

/** What `authenticate` (and `verify`) take besides the token. */
export interface AuthenticateOptions {
  /** The login the token must belong to (the user name of Basic auth). */
  login?: string;
  /** The client IP, recorded with the use when the service records IPs (`trackIp`). */
  ip?: string;
  /**
   * Whether the check counts as a use, as a request's does: a sliding token's expiry moves on and
   * `lastUsedAt` is written. Default true. `false` is for asking about a token without using it
   * (introspection): it only reads.
   */
  touch?: boolean;
}

/**
 * Issues, verifies, lists and revokes personal access tokens on top of a `TokenStore`: the one object
 * an app configures. Requests are checked by its `checker` (lib/check/); what it issues, lists and
 * revokes is done by the classes of lib/manage/ it holds, which share its store and clock.
 */
export class TokenService {
  readonly store: TokenStore;
  readonly tokenPrefix: string;
  readonly timeout: number;
  readonly touchInterval: number;
  readonly resolveUser: ResolveUser | undefined;
  readonly canAccess: CanAccess | undefined;
  readonly trackIp: boolean;
  /** `limits.maxTokensPerUser`, or undefined when lifted (`Infinity`): then no issue counts tokens. */
  readonly maxTokensPerUser: number | undefined;
  /** The policy every new token must fit, rotated ones included (see `TokenLimits`). */
  readonly limits: Readonly<TokenLimits>;
  readonly onEvent: OnEvent | undefined;
  /** The check of a request's token: what the middleware, the Passport strategies and forward auth run. */
  readonly checker: TokenChecker;
  readonly #now: () => number;
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #tokenLike: (text: string) => boolean;
  readonly #issuer: TokenIssuer;
  readonly #lister: TokenLister;
  readonly #revoker: TokenRevoker;

  constructor(options: TokenServiceOptions) {
    checkOptions('TokenService', options, OPTION_NAMES);
    const store = options.store;
    for (const method of ['create', 'verify', 'get', 'listPage', 'delete', 'limit'] as const) {
      if (typeof store?.[method] !== 'function') {
        throw new TypeError(`TokenService needs a store with a ${method}() method (see TokenStore)`);
      }
    }
    this.store = store;
    this.tokenPrefix = options.tokenPrefix ?? DEFAULT_TOKEN_PREFIX;
    assertTokenPrefix(this.tokenPrefix);
    this.#tokenLike = tokenLikeText(this.tokenPrefix);
    this.timeout = positive('timeout', options.timeout ?? 1000);
    if (this.timeout > MAX_TIMER_MS)
      throw new TypeError('timeout must be at most 24 days (a timer cannot wait longer)');
    this.touchInterval = positive('touchInterval', options.touchInterval ?? 60_000);
    this.resolveUser = options.resolveUser;
    this.canAccess = options.canAccess;
    this.trackIp = options.trackIp ?? false;
    this.limits = Object.freeze(parseTokenLimits(options));
    const maxTokens = this.limits.maxTokensPerUser;
    this.maxTokensPerUser = maxTokens === Number.POSITIVE_INFINITY ? undefined : maxTokens;
    this.onEvent = options.onEvent;
    // Bound, not wrapped: every check reads the clock, and a wrapper would be one more frame of this file on its path.
    this.#now = options.now ?? (store.now ? store.now.bind(store) : Date.now);
    this.#onClose = options.onClose;
    this.checker = new TokenChecker({
      store,
      tokenPrefix: this.tokenPrefix,
      now: this.#now,
      timeout: this.timeout,
      touchInterval: this.touchInterval,
      trackIp: this.trackIp,
      // Last: the cache subscribes to the store's channel (a connection of its own on Redis), which a
      // mistake in another option must not leave open.
      cache: cacheOf(options.cache, store, this.touchInterval),
      onEvent: this.onEvent,
      tokenLike: this.#tokenLike,
    });
    const calls = new ManagedStore(this.checker, this.#now);
    const maker = new TokenMaker(calls, {
      tokenPrefix: this.tokenPrefix,
      limits: this.limits,
      resolveUser: this.resolveUser,
      canAccess: this.canAccess,
      onEvent: this.onEvent,
    });
    this.#issuer = new TokenIssuer(calls, maker, {
      tokenLike: this.#tokenLike,
      maxTokensPerUser: this.maxTokensPerUser,
      onEvent: this.onEvent,
    });
    this.#lister = new TokenLister(calls);
    this.#revoker = new TokenRevoker(calls, { tokenPrefix: this.tokenPrefix, onEvent: this.onEvent });
  }

  now(): number {
    return this.#now();
  }

  issue(options: IssueOptions): Promise<IssuedToken> {
    return this.#issuer.issue(options);
  }

  /**
   * Issues a token for a caller: the `req.authInfo` of its request, or its login when the app
   * authenticated it otherwise (`options.user` overrides the owner). When the caller is a personal
   * token, the new token can outreach it in nothing (see `BroaderThanCallerError`): each scope
   * covered by the caller's (an unscoped caller may issue any scope), a hard limit no later than the
   * caller's (so a caller with one must ask for one), and no longer idle life than a sliding caller's.
   * The caller's limits are those its check found for this request. Pass `req.authInfo` whenever a
   * personal token may have authenticated the request: a bare login carries no limits.
   */
  issueFor(caller: Caller, options: IssueForOptions): Promise<IssuedToken> {
    return this.#issuer.issueFor(caller, options);
  }

  /**
   * Replaces a token by a new one with the same owner, label, scopes, window and *the same hard
   * limit* (rotating never makes a temporary token last longer). The old one keeps working for
   * `overlap`, then is gone. Returns null if there is no live token with that id. With an overlap
   * the user has one live token more for a while, so `maxTokensPerUser` applies (`TokenLimitError`).
   * With `options.caller` a personal token, it may rotate only what it could have made (see `issueFor`).
   */
  rotate(id: string, options: RotateOptions = {}): Promise<IssuedToken | null> {
    return this.#issuer.rotate(id, options);
  }

  /**
   * Checks a token and, for a sliding one, pushes its expiry forward. With `login` (Basic auth) the
   * token must belong to that login. Returns why it failed, for audit; never the token itself.
   * With `touch: false` the check is not a use: the same checks of the whole text against the stored
   * hash, but a sliding token keeps its expiry and `lastUsedAt` stays (see `AuthenticateOptions`).
   */
  async authenticate(token: string, options: AuthenticateOptions = {}): Promise<Authentication> {
    const result =
      options.touch === false
        ? await this.checker.checkWithoutUse(token, options.login)
        : await this.checker.check(token, options.login, options.ip);
    return result.ok ? { ok: true, token: toInfo(result.token) } : result;
  }

  /** The token's record, or null for a malformed, unknown, expired or revoked one. */
  async verify(token: string, options: Omit<AuthenticateOptions, 'ip'> = {}): Promise<TokenInfo | null> {
    const result = await this.authenticate(token, options);
    return result.ok ? result.token : null;
  }

  /** A token's record by id, without refreshing it. */
  inspect(id: string): Promise<TokenInfo | null> {
    return this.#lister.inspect(id);
  }

  /**
   * One page of the user's live tokens, newest first: one store call, under its own deadline (a few
   * with `visible`). Pass the `cursor` of a page to get the next; tokens revoked or created meanwhile
   * do not shift it.
   */
  listPage(user: string, options: ListPageOptions = {}): Promise<TokenInfoPage> {
    return this.#lister.listPage(user, options);
  }

  /**
   * One page of every user's live tokens whose hard limit falls within `within` from now (`'7d'`, or
   * ms), soonest first: for a job that tells owners before their tokens expire. One store call,
   * through the store's index by hard limit (`TokenStore.listExpiring`): a page costs what it lists,
   * however many other tokens there are. Pass the `cursor` of a page to get the next.
   */
  listExpiring(options: ListExpiringOptions): Promise<TokenInfoPage> {
    return this.#lister.listExpiring(options);
  }

  /**
   * All the user's live tokens, newest first, read page by page (each page its own store call,
   * under its own deadline). For a user with very many tokens, `listPage` keeps memory bounded.
   */
  list(user: string): Promise<TokenInfo[]> {
    return this.#lister.list(user);
  }

  /**
   * Revokes a token and, depth-first, every token that descends from it (its children, made with it
   * through `issueFor` or `rotate`, theirs, and so on); false if there was no live token with that
   * id. Requests that start after this resolves are refused, the descendants' included. If it stops
   * before all the descendants are revoked, it throws `FamilyRevocationIncompleteError`, which says
   * how many were; revoking again revokes the rest, also once the token itself is gone.
   */
  revoke(id: string): Promise<boolean> {
    return this.#revoker.revoke(id);
  }

  /**
   * `revoke`, answering how many tokens it revoked: the token itself (if it was live) and its
   * descendants. For a caller that counts what it took away (the router's `DELETE /tokens`).
   */
  revokeFamily(id: string): Promise<number> {
    return this.#revoker.revokeFamily(id);
  }

  /**
   * Revokes the token whose text this is, for whoever found it leaked (a leak report, a secret-scanning
   * alert, a scan): holding the text is the proof. Only the live token itself is revoked, its whole
   * hash compared in constant time, so that a public id, or an id with a made-up secret, revokes
   * nothing. The lookup is no use of the token (nothing is written to it); the revocation is
   * `revoke`'s, with its `revoked` event, and a `leaked` event with `options.source` (made safe: see
   * `leakSource`). Answers `'revoked'`; `'already-revoked'` when a tombstone is there for the text's
   * id (a tombstone keeps no hash, but a text's id is the hash of its secret and terms, which
   * `parseToken` checks: 64 bits of it to match), revoking it again all the same; `'unknown'` for
   * anything else (malformed, another prefix, a bad checksum, no such token, a wrong secret, expired).
   * Rejects with `StoreUnavailableError` when the store cannot answer.
   */
  revokeLeaked(text: string, options: RevokeLeakedOptions): Promise<LeakVerdict> {
    return this.#revoker.revokeLeaked(text, options);
  }

  /**
   * Revokes all of a user's tokens, and their descendants as `revoke` does, in batches (each a
   * listing and its revocations, under its own deadlines); returns how many, descendants included.
   * If the store fails midway, throws `RevokeAllIncompleteError`,
   * which says how many were revoked; running it again revokes the rest.
   */
  revokeAll(user: string): Promise<number> {
    return this.#revoker.revokeAll(user);
  }

  async close(): Promise<void> {
    await this.checker.close();
    await this.#onClose?.();
  }

  /** Whether text could hold a token of this service's prefix or its secret (see `tokenLikeText`). */
  isTokenLike(text: string): boolean {
    return this.#tokenLike(text);
  }
}

/**
 * The cache the `cache` option asks for, or none. Off unless it is an object: `false` or `null` (as
 * `cache: enabled && { ... }` gives) keep it off, anything else is a mistake to refuse, never a reason
 * to loosen revocation.
 */
function cacheOf(option: unknown, store: TokenStore, touchInterval: number): TokenCache | undefined {
  if (option === undefined || option === null || option === false) return undefined;
  checkOptions('TokenService', option, CACHE_OPTION_NAMES, 'cache');
  return new TokenCache(store.invalidations, option as TokenCacheOptions, touchInterval);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new TypeError(`${name} must be a positive number of milliseconds`);
  return value;
}
