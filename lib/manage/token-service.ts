import { CallDeadlines, storeFailure } from '../check/call-deadlines';
import { NEW_IP_WRITE_GAP, planCheck, planFlush, slidingExpiry, useIsDue } from '../check/check-plan';
import { PendingIps } from '../check/pending-ips';
import { isRecentIp } from '../check/recent-ips';
import { CACHE_OPTION_NAMES, TokenCache, type TokenCacheOptions } from '../check/token-cache';
import { MAX_TIMER_MS, parseDuration } from '../duration';
import {
  CallerNotLiveError,
  FamilyRevocationIncompleteError,
  InvalidPageError,
  InvalidTokenOptionsError,
  RevokeAllIncompleteError,
  ScopeNotAllowedError,
  StoreUnavailableError,
  TokenLimitError,
  TokenPolicyError,
  UnknownUserError,
} from '../errors';
import { emit, type OnEvent, type RejectReason } from '../events';
import { parseExpiringCursor } from '../expiring-page';
import { recordableAddress } from '../http/client-ip';
import { checkOptions, optionNames } from '../option-names';
import {
  nodeScopes,
  normaliseScopes,
  type Permission,
  parseScope,
  type ResolveAncestors,
  type Scope,
} from '../scopes';
import {
  type CheckedToken,
  type CheckPlan,
  type CreateOutcome,
  isRevoked,
  MAX_FAMILY_DEPTH,
  type RevokedToken,
  type StoredToken,
  TOMBSTONE_LIFE,
  type TokenStore,
} from '../store';
import {
  assertTokenPrefix,
  DEFAULT_TOKEN_PREFIX,
  generateToken,
  hashesMatch,
  isTokenId,
  MAX_HARD_LIMIT,
  MAX_WINDOW,
  type ParsedToken,
  parseToken,
  tokenLikeText,
} from '../token-format';
import {
  BATCH_SIZE,
  DEFAULT_PAGE_SIZE,
  formatPageCursor,
  MAX_FILTERED_BATCHES,
  MAX_PAGE_SIZE,
  parsePageCursor,
  SealedPageCursors,
} from '../token-page';
import {
  assertGrantableByCaller,
  assertWithinCaller,
  type Caller,
  callerBounds,
  ScopeCoverage,
  type TokenTermsRequest,
} from './caller-bounds';
import { FamilyWalkStopped, revokeDescendants } from './family-revocation';
import { type LeakVerdict, leakSource, type RevokeLeakedOptions } from './leak-source';
import { assertWithinLimits, parseTokenLimits, type TokenLimits } from './token-limits';

/** Looks up the app's user for a login; null or undefined means unknown or disabled. */
export type ResolveUser = (login: string) => unknown | Promise<unknown>;
/** Whether the user may use a node at all; a scope can only narrow that. */
export type CanAccess = (user: unknown, nodeId: string, permission: Permission) => boolean | Promise<boolean>;

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

export interface IssueOptions {
  /** Login of the owner. */
  user: string;
  /** Hard limit (`-e`): `'24h'`, `'7d'`... or ms. */
  expiresIn?: string | number;
  /** Sliding window (`-a`), pushed forward on each use; capped by `expiresIn` when both are set. */
  autoRefresh?: string | number;
  /** `node:<NODE_ID>:r|w|rw`; none = the user's full access. */
  scopes?: readonly (string | Scope)[];
  /** Free text to tell tokens apart in lists. */
  label?: string;
}

/** A token as lists and `req.authInfo` see it: never any secret material. */
export interface TokenInfo {
  id: string;
  user: string;
  label: string | null;
  scopes: string[];
  createdAt: Date;
  /** When it expires if not used again. */
  expiresAt: Date;
  hardExpiresAt: Date | null;
  /** Sliding window in ms, or null. */
  autoRefresh: number | null;
  lastUsedAt: Date | null;
  /** Client IP of the last use, if the service records IPs (`trackIp`). */
  lastUsedIp: string | null;
  /** The last 5 distinct client IPs, newest first, each with when it was last seen (`trackIp`). */
  recentIps: { ip: string; lastSeenAt: Date }[];
  /**
   * The personal token that made this one (`issueFor`, or `rotate` by another token), or null:
   * revoking it revokes this one too (see docs/lifecycle.md, "Child tokens").
   */
  parentId: string | null;
}

/** What `issue()` returns: the only time the token text exists outside the user's hands. */
export interface IssuedToken extends TokenInfo {
  token: string;
}

/** What `issueFor` takes besides the caller. */
export interface IssueForOptions extends Omit<IssueOptions, 'user'> {
  /** The owner. Default: the caller's login. */
  user?: string;
  /** A node's ancestors, for a scoped caller: the middleware's `resolveAncestors`. */
  resolveAncestors?: ResolveAncestors;
}

export interface RotateOptions {
  /** How long the old token keeps working (`'1h'`, or ms). Default 0: it stops at once. */
  overlap?: string | number;
  /**
   * Who asks (see `issueFor`): a personal token may rotate only what it could have made, and no caller
   * a token with a scope only `issue()` grants (`introspect`). Without it, the caller is the app itself.
   */
  caller?: Caller;
  /** A node's ancestors, for a scoped caller: the middleware's `resolveAncestors`. */
  resolveAncestors?: ResolveAncestors;
}

export interface ListPageOptions {
  /** Where the page starts: the `cursor` of the previous page. Default: the first page. */
  cursor?: string | null;
  /** How many tokens at most, 1 to `MAX_PAGE_SIZE` (1000). Default `DEFAULT_PAGE_SIZE` (100). */
  limit?: number;
  /**
   * Only the tokens this accepts, for a caller who may see only some (a scoped token): the page fills
   * up with them, and its cursor tells nothing of the others. Such a page may take a few store calls.
   */
  visible?: (token: TokenInfo) => boolean | Promise<boolean>;
}

export interface ListExpiringOptions {
  /** How far ahead to look: tokens whose hard limit is at most this long from now (`'7d'`, or ms). */
  within: string | number;
  /** Where the page starts: the `cursor` of the previous page. Default: the first page. */
  cursor?: string | null;
  /** How many tokens at most, 1 to `MAX_PAGE_SIZE` (1000). Default `DEFAULT_PAGE_SIZE` (100). */
  limit?: number;
}

/** One page of a user's tokens; `cursor` is where the next starts, null after the last. */
export interface TokenInfoPage {
  tokens: TokenInfo[];
  cursor: string | null;
}

/** Why a token was refused, for audit: never the token itself. */
export interface Refusal {
  ok: false;
  reason: RejectReason;
  tokenId?: string;
  login?: string;
}

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

/** What `check()` answers: the store's record itself on success. @internal */
export type Check = { ok: true; token: StoredToken } | Refusal;

export const MAX_LABEL = 200;
const MAX_LOGIN = 256;
// Control characters would corrupt table output and logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Issues, verifies, lists and revokes personal access tokens on top of a `TokenStore`.
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
  readonly #now: () => number;
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #deadlines: CallDeadlines;
  /** For calls that take access away: they may wait for the store's replicas as well. */
  readonly #revocationDeadlines: CallDeadlines;
  readonly #tokenLike: (text: string) => boolean;
  readonly #sealedCursors = new SealedPageCursors();
  readonly #cache: TokenCache | undefined;
  /** Addresses seen within the new-IP gap, for the token's next write (`trackIp`). */
  readonly #pendingIps = new PendingIps();

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
    this.#deadlines = new CallDeadlines(this.timeout);
    this.#revocationDeadlines = new CallDeadlines(this.timeout + (store.revocationWait ?? 0));
    this.touchInterval = positive('touchInterval', options.touchInterval ?? 60_000);
    this.resolveUser = options.resolveUser;
    this.canAccess = options.canAccess;
    this.trackIp = options.trackIp ?? false;
    this.limits = Object.freeze(parseTokenLimits(options));
    const maxTokens = this.limits.maxTokensPerUser;
    this.maxTokensPerUser = maxTokens === Number.POSITIVE_INFINITY ? undefined : maxTokens;
    this.onEvent = options.onEvent;
    this.#now = options.now ?? (store.now ? () => store.now!() : Date.now);
    this.#onClose = options.onClose;
    // Last: the cache subscribes to the store's channel (a connection of its own on Redis), which a
    // mistake in another option must not leave open.
    this.#cache = cacheOf(options.cache, store, this.touchInterval);
  }

  now(): number {
    return this.#now();
  }

  async issue(options: IssueOptions): Promise<IssuedToken> {
    const { user, label, hardLimit, window, scopes } = validateIssue(options, this.#tokenLike);
    const now = this.#now();
    const terms = { scopes, hardExpiresAt: hardLimit === null ? null : now + hardLimit, autoRefresh: window };
    this.#assertPolicy(now, terms);
    await this.#checkUser(user, scopes);
    return this.#create(now, { user, label, ...terms }, this.maxTokensPerUser);
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
  async issueFor(caller: Caller, options: IssueForOptions): Promise<IssuedToken> {
    const bounds = callerBounds(caller);
    const user = options.user ?? callerLogin(caller);
    if (user === undefined) {
      throw new InvalidTokenOptionsError(
        "issueFor needs the caller: its request's req.authInfo, or its login",
      );
    }
    const { label, hardLimit, window, scopes } = validateIssue({ ...options, user }, this.#tokenLike);
    assertGrantableByCaller(scopes);
    const now = this.#now();
    const terms = { scopes, hardExpiresAt: hardLimit === null ? null : now + hardLimit, autoRefresh: window };
    this.#assertPolicy(now, terms);
    if (bounds)
      await assertWithinCaller(bounds, terms, now, new ScopeCoverage(bounds, options.resolveAncestors));
    await this.#checkUser(user, scopes);
    if (!bounds) return this.#create(now, { user, label, ...terms }, this.maxTokensPerUser);
    const family = await this.#familyOf(bounds.tokenId, []);
    const fields = { user, label, ...terms, ancestorIds: family.ancestorIds };
    const issued = await this.#create(now, fields, this.maxTokensPerUser, false);
    // Whichever of its ancestors is gone, the caller descends from it: it goes too.
    if ((await this.#goneFromFamily(issued.id, family)) !== undefined) throw new CallerNotLiveError();
    this.#emitIssued(issued);
    return issued;
  }

  /**
   * The ancestors of a token to be made by the token `parentId` (none: by the app) in the place of
   * `base` (the ancestors of a token it replaces), and which of them are live now, to be read again
   * once it is made (see lib/manage/family-revocation.ts). `CallerNotLiveError` if the parent is not live.
   */
  async #familyOf(parentId: string | undefined, base: readonly string[]): Promise<Family> {
    const store = this.store;
    if (!store.listDescendants) return { ancestorIds: [], live: [] };
    const parent = parentId === undefined ? null : await this.#call('get', () => store.get(parentId));
    if (parentId !== undefined && parent === null) throw new CallerNotLiveError();
    const chain = parent ? [parent.id, ...(parent.ancestorIds ?? [])] : [];
    const ancestorIds = [...new Set([...chain, ...base])];
    if (ancestorIds.length > MAX_FAMILY_DEPTH) {
      throw new TokenPolicyError(
        'ERR_FAMILY_TOO_DEEP',
        `The token making the request descends from ${MAX_FAMILY_DEPTH} tokens already, the most a token may: it can make no token`,
      );
    }
    const others = ancestorIds.filter((id) => id !== parentId);
    const found = await Promise.all(others.map((id) => this.#call('get', () => store.get(id))));
    const live = others.filter((_, i) => found[i] !== null);
    return { ancestorIds, live: parentId === undefined ? live : [parentId, ...live] };
  }

  /**
   * After a token made in `family` exists: whether its ancestors that were live before still are.
   * If one is gone (its family is being revoked), the token is withdrawn and that ancestor's id
   * returned; should the reads fail, it is withdrawn and the failure thrown.
   */
  async #goneFromFamily(id: string, family: Family): Promise<string | undefined> {
    if (family.live.length === 0) return undefined;
    let gone: string | undefined;
    try {
      const found = await Promise.all(
        family.live.map((ancestor) => this.#call('get', () => this.store.get(ancestor))),
      );
      gone = family.live.find((_, i) => found[i] === null);
    } catch (error) {
      await this.#withdraw(id, Promise.resolve(true));
      throw error;
    }
    if (gone !== undefined) await this.#withdraw(id, Promise.resolve(true));
    return gone;
  }

  /**
   * Replaces a token by a new one with the same owner, label, scopes, window and *the same hard
   * limit* (rotating never makes a temporary token last longer). The old one keeps working for
   * `overlap`, then is gone. Returns null if there is no live token with that id. With an overlap
   * the user has one live token more for a while, so `maxTokensPerUser` applies (`TokenLimitError`).
   * With `options.caller` a personal token, it may rotate only what it could have made (see `issueFor`).
   */
  async rotate(id: string, options: RotateOptions = {}): Promise<IssuedToken | null> {
    const overlap = options.overlap === undefined ? 0 : parseOverlap(options.overlap);
    if (!isTokenId(id)) return null;
    const old = await this.#call('get', () => this.store.get(id));
    if (!old) return null;
    const now = this.#now();
    const terms = { scopes: old.scopes, hardExpiresAt: old.hardExpiresAt, autoRefresh: old.autoRefresh };
    // A policy tightened since the old token was made applies to its replacement.
    this.#assertPolicy(now, terms);
    const bounds = callerBounds(options.caller);
    // Not even a token rotating itself: what a caller may not be given, it may not renew either.
    if (options.caller !== undefined) assertGrantableByCaller(terms.scopes);
    // A token rotating itself hands on its own terms.
    if (bounds && bounds.tokenId !== id) {
      await assertWithinCaller(bounds, terms, now, new ScopeCoverage(bounds, options.resolveAncestors));
    }
    // With an overlap, the user has one live token more until it ends: that counts as an issue does.
    // Rotating a token already in its overlap again is then bounded by the same count (and its
    // replacement gets the overlap's end as its hard limit). Without an overlap, one token replaces one.
    const limit = overlap > 0 ? this.maxTokensPerUser : undefined;
    // The replacement takes the old token's place in its family; made by another token, it is that
    // one's child too. Never the child of the token it replaces, which rotation takes away.
    const maker = bounds && bounds.tokenId !== id ? bounds.tokenId : undefined;
    const family = await this.#familyOf(maker, old.ancestorIds ?? []);
    const fields = { user: old.user, label: old.label, ...terms, ancestorIds: family.ancestorIds };
    const fresh = await this.#create(now, fields, limit, false);
    const gone = await this.#goneFromFamily(fresh.id, family);
    if (gone !== undefined && gone === maker) throw new CallerNotLiveError();
    // The old token's family is being revoked: it is going too, and nothing replaces it.
    if (gone !== undefined) return null;
    let replaced: boolean;
    try {
      replaced =
        overlap === 0
          ? (await this.#takeAway([id], 'revoke', () =>
              this.store.delete(id, this.#now() + TOMBSTONE_LIFE),
            )) !== null
          : await this.#takeAway([id], 'limit', () => this.store.limit(id, this.#now() + overlap));
      await this.#announce([id]);
    } catch (error) {
      // The replacement's text goes nowhere with this failure: it is revoked, as a failed issue's is.
      await this.#withdraw(fresh.id, Promise.resolve(true));
      throw error;
    }
    // The old token was gone by then: a racing rotation replaced it, or it was revoked or expired.
    // Only the rotation that took it away keeps its replacement, or rotations racing without an
    // overlap (which the limit does not count) would turn one token into as many as there are.
    if (!replaced) {
      await this.#withdraw(fresh.id, Promise.resolve(true));
      return null;
    }
    emit(this.onEvent, {
      type: 'rotated',
      time: new Date(this.#now()),
      tokenId: id,
      newTokenId: fresh.id,
      login: old.user,
      overlap,
    });
    return fresh;
  }

  /** Throws `TokenPolicyError` for a token made at `now` on these terms that the policy forbids. */
  #assertPolicy(now: number, terms: TokenTermsRequest): void {
    assertWithinLimits(this.limits, {
      scopes: terms.scopes,
      hardLimit: terms.hardExpiresAt === null ? null : terms.hardExpiresAt - now,
      window: terms.autoRefresh,
    });
  }

  /**
   * Stores a new token created at `now` (the same instant its hard limit was computed from), unless
   * its user already has `maxLiveTokens` live tokens (`TokenLimitError`): the store counts and
   * writes in one atomic step, so that no number of racing issues gets past the limit.
   */
  async #create(
    now: number,
    fields: Pick<StoredToken, 'user' | 'label' | 'scopes' | 'hardExpiresAt' | 'autoRefresh' | 'ancestorIds'>,
    maxLiveTokens: number | undefined,
    announce = true,
  ): Promise<IssuedToken> {
    if ((fields.autoRefresh ?? 0) > MAX_WINDOW || (fields.hardExpiresAt ?? 0) > MAX_HARD_LIMIT) {
      throw new InvalidTokenOptionsError(
        'The sliding window or the hard limit is too far away (at most about 89 years)',
      );
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const { token, id, secretHash } = generateToken(this.tokenPrefix, fields);
      const record: StoredToken = {
        ...fields,
        id,
        secretHash,
        createdAt: now,
        // Made at `now` as if used then: a sliding token's first window, else its hard limit.
        expiresAt: slidingExpiry(fields, now) ?? fields.hardExpiresAt ?? Number.POSITIVE_INFINITY,
        lastUsedAt: null,
        lastUsedIp: null,
        recentIps: [],
      };
      if (record.expiresAt <= now) throw new InvalidTokenOptionsError('The token would already be expired');
      const outcome = await this.#store(record, maxLiveTokens);
      if (outcome === 'over-limit') throw new TokenLimitError(record.user, maxLiveTokens!);
      // An id collision (64 random bits) is astronomically rare; the store refuses it rather than overwrite.
      if (outcome === 'created') {
        const info = toInfo(record);
        if (announce) this.#emitIssued(info);
        return { token, ...info };
      }
    }
    throw new Error('Could not find a free token id in 3 attempts');
  }

  #emitIssued(info: TokenInfo): void {
    emit(this.onEvent, {
      type: 'issued',
      time: info.createdAt,
      tokenId: info.id,
      login: info.user,
      label: info.label,
      scopes: info.scopes,
      expiresAt: info.expiresAt,
      hardExpiresAt: info.hardExpiresAt,
      autoRefresh: info.autoRefresh,
    });
  }

  /**
   * `store.create` under the deadline. A create that failed or was late may still have stored the
   * token (a lost answer, a late one): it is withdrawn before the failure is reported.
   */
  async #store(record: StoredToken, maxLiveTokens: number | undefined): Promise<CreateOutcome> {
    const creating = Promise.resolve().then(() => this.store.create(record, { maxLiveTokens }));
    try {
      return await this.#call('create', () => creating);
    } catch (error) {
      await this.#withdraw(
        record.id,
        creating.then(
          (outcome) => outcome === 'created',
          () => true,
        ),
      );
      throw error;
    }
  }

  /**
   * Revokes a token whose text nobody received (that of an issue or a rotation that failed) once
   * `made` says it may exist, so that a request that fails leaves no token behind, working or
   * counting against the user's limit. Waits as long as a revocation may; a store still silent then
   * has it revoked whenever it answers. A revocation that fails too changes nothing to report: the
   * store is down, and the token, whose text nobody has, expires.
   */
  async #withdraw(id: string, made: Promise<boolean>): Promise<void> {
    const withdrawn = made.then((exists) =>
      exists ? this.store.delete(id, this.#now() + TOMBSTONE_LIFE) : null,
    );
    await this.#revocationDeadlines.run('withdraw', () => withdrawn).catch(() => {});
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
        ? await this.#checkWithoutUse(token, options.login)
        : await this.check(token, options.login, options.ip);
    return result.ok ? { ok: true, token: toInfo(result.token) } : result;
  }

  /**
   * `check` that is not a use: one read of the store (never the cache, so a revocation shows at once),
   * judged as a check's answer is. Nothing is written.
   */
  async #checkWithoutUse(token: string, login: string | undefined): Promise<Check> {
    if (this.#refusesLogin(login)) return { ok: false, reason: 'user_mismatch' };
    const parsed = parseToken(token, this.tokenPrefix);
    if (typeof parsed === 'string')
      return { ok: false, reason: parsed === 'forged' ? 'unknown' : parsed, login };
    const found = await this.#call('get', () => this.store.get(parsed.id));
    return this.#judge(found, parsed, login, this.#now());
  }

  /**
   * `authenticate()` for the request path: the same checks, answering with the store's record as it
   * is (no `TokenInfo` with four Dates on every request). Rejects only with `StoreUnavailableError`.
   * @internal
   */
  check(token: string, login: string | undefined, ip: string | undefined): Promise<Check> {
    // A token pasted into the user-name field (as it is, padded, or after `Bearer ` or `token=`) is a
    // mistake to refuse here, before it can reach the store or an audit event: the claimed login is
    // logged, and this one could hold a secret.
    if (this.#refusesLogin(login)) return Promise.resolve({ ok: false, reason: 'user_mismatch' });
    const parsed = parseToken(token, this.tokenPrefix);
    if (typeof parsed === 'string') {
      // A forged token (its id is not the hash of its secret and terms) was never issued: unknown.
      return Promise.resolve({ ok: false, reason: parsed === 'forged' ? 'unknown' : parsed, login });
    }
    const now = this.#now();
    // Only an address is recorded: a proxy header can hold anything.
    const recordedIp = this.trackIp ? (recordableAddress(ip) ?? null) : undefined;
    // With addresses recorded the plan comes first: a hit from an address new to the token goes to
    // the store too, to be written (`useIsDue`). Without, a hit needs none.
    const ipPlan =
      recordedIp === undefined
        ? undefined
        : planCheck(parsed, now, this.touchInterval, recordedIp, this.#pendingIps.of(parsed.id));
    // A hit is judged as the store's answer is; a miss goes to the store and keeps a success.
    const cache = this.#cache;
    const cached = cache?.get(parsed.id, now);
    if (cached !== undefined && (ipPlan === undefined || !useIsDue(cached, ipPlan))) {
      const result = this.#judge(cached, parsed, login, now);
      if (result.ok && ipPlan !== undefined) this.#keepIfNew(result.token, ipPlan, parsed);
      // Answered in the event loop's check phase, as a store's answer comes in a later turn than the
      // request: the responses to every request read in one turn then go out together, where answering
      // each at once wakes its client once per response (see docs/cache.md).
      return new Promise((resolve) => setImmediate(resolve, result));
    }
    const mark = cache?.mark() ?? 0;
    const plan = ipPlan ?? planCheck(parsed, now, this.touchInterval, recordedIp);
    return this.#deadlines
      .run('verify', () => this.store.verify(parsed.id, parsed.secretHash, plan))
      .then((found) => {
        // Judged as of the answer: a token that expired while the store answered is expired.
        const result = this.#judge(found, parsed, login, this.#now());
        if (plan.ip !== undefined) {
          this.#noteAddresses(parsed.id, found, result);
          if (result.ok) this.#keepIfNew(result.token, plan, parsed);
        }
        if (cache !== undefined && result.ok) cache.add(mark, result.token, now);
        return result;
      });
  }

  /**
   * What a check with addresses recorded learnt from the store's answer: a `new-ip` event for each
   * address it wrote into the token's recent IPs, and which of the addresses waiting for the token
   * need no write any more.
   */
  #noteAddresses(id: string, found: CheckedToken | RevokedToken | null, result: Check): void {
    if (found === null || isRevoked(found)) {
      this.#pendingIps.forget(id);
      return;
    }
    const added = found.addedIps;
    if (added !== undefined) {
      // Oldest first: `addedIps` are in the record's order, newest first.
      for (let i = added.length - 1; i >= 0; i--) {
        emit(this.onEvent, {
          type: 'new-ip',
          time: new Date(this.#now()),
          tokenId: id,
          login: found.user,
          ip: added[i]!,
        });
      }
    }
    if (result.ok && this.#pendingIps.of(id) !== undefined) this.#pendingIps.settle(id, found.recentIps);
  }

  /**
   * Keeps a check's address for the token's next write if the record, as the check saw it, lacks it;
   * should no use come, the write is made once the gap after the record's last write is over.
   */
  #keepIfNew(record: StoredToken, plan: CheckPlan, parsed: ParsedToken): void {
    const ip = plan.ip;
    if (typeof ip !== 'string' || isRecentIp(record.recentIps, ip)) return;
    const lastWrite = record.lastUsedAt ?? plan.now;
    this.#pendingIps.add(record.id, ip, plan.now, {
      after: Math.max(0, lastWrite + NEW_IP_WRITE_GAP - plan.now),
      run: () => this.#flushPendingIps(parsed),
    });
  }

  /**
   * The write of a token's waiting addresses that no use made (`planFlush`): one store call, as a
   * check's, whose answer is noted as a check's is. Should it write nothing (a newer write came
   * meanwhile) or the store fail, they wait for the next check, with no timer: never a loop.
   */
  #flushPendingIps(parsed: ParsedToken): void {
    const waiting = this.#pendingIps.of(parsed.id);
    if (waiting === undefined) return;
    const plan = planFlush(waiting, this.#now(), this.touchInterval);
    this.#deadlines
      .run('verify', () => this.store.verify(parsed.id, parsed.secretHash, plan))
      .then(
        (found) => this.#noteAddresses(parsed.id, found, this.#judge(found, parsed, undefined, this.#now())),
        () => {},
      );
  }

  /** Whether a claimed login is too long or could hold a token: never looked up, nor reported. */
  #refusesLogin(login: string | undefined): boolean {
    return login !== undefined && (login.length > MAX_LOGIN || this.#tokenLike(login));
  }

  /** What the store found for a parsed token, judged: the same single lookup for every well-formed token. */
  #judge(
    found: StoredToken | RevokedToken | null,
    parsed: ParsedToken,
    login: string | undefined,
    now: number,
  ): Check {
    const tokenId = parsed.id;
    if (!found) return { ok: false, reason: 'unknown', tokenId, login };
    if (isRevoked(found)) return { ok: false, reason: 'revoked', tokenId, login };
    if (!hashesMatch(found.secretHash, parsed.secretHash))
      return { ok: false, reason: 'unknown', tokenId, login };
    if (found.expiresAt <= now) return { ok: false, reason: 'expired', tokenId, login };
    if (login !== undefined && login !== found.user)
      return { ok: false, reason: 'user_mismatch', tokenId, login };
    return { ok: true, token: found };
  }

  /** The token's record, or null for a malformed, unknown, expired or revoked one. */
  async verify(token: string, options: Omit<AuthenticateOptions, 'ip'> = {}): Promise<TokenInfo | null> {
    const result = await this.authenticate(token, options);
    return result.ok ? result.token : null;
  }

  /** A token's record by id, without refreshing it. */
  async inspect(id: string): Promise<TokenInfo | null> {
    if (!isTokenId(id)) return null;
    const stored = await this.#call('get', () => this.store.get(id));
    return stored ? toInfo(stored) : null;
  }

  /**
   * One page of the user's live tokens, newest first: one store call, under its own deadline (a few
   * with `visible`). Pass the `cursor` of a page to get the next; tokens revoked or created meanwhile
   * do not shift it.
   */
  async listPage(user: string, options: ListPageOptions = {}): Promise<TokenInfoPage> {
    const given = options.cursor ?? null;
    const cursor =
      given === null || parsePageCursor(given) !== null ? given : this.#sealedCursors.open(String(given));
    if (given !== null && cursor === null) {
      throw new InvalidPageError('cursor must be the cursor of a previous page, as returned');
    }
    const limit = pageLimit(options.limit);
    if (options.visible) return this.#visiblePage(user, cursor, limit, options.visible);
    const page = await this.#call('list', () => this.store.listPage(user, { cursor, limit }));
    return { tokens: page.tokens.map(toInfo), cursor: page.cursor };
  }

  /**
   * One page of every user's live tokens whose hard limit falls within `within` from now (`'7d'`, or
   * ms), soonest first: for a job that tells owners before their tokens expire. One store call,
   * through the store's index by hard limit (`TokenStore.listExpiring`): a page costs what it lists,
   * however many other tokens there are. Pass the `cursor` of a page to get the next.
   */
  async listExpiring(options: ListExpiringOptions): Promise<TokenInfoPage> {
    const store = this.store;
    if (!store.listExpiring)
      throw new TypeError('This token store cannot list expiring tokens (no listExpiring method)');
    const { within: given, cursor = null, limit: size } = options ?? ({} as ListExpiringOptions);
    const within = parseDuration(given);
    if (cursor !== null && parseExpiringCursor(cursor) === null) {
      throw new InvalidPageError('cursor must be the cursor of a previous page, as returned');
    }
    const limit = pageLimit(size);
    const until = Math.min(this.#now() + within, Number.MAX_SAFE_INTEGER);
    const page = await this.#call('listExpiring', () => store.listExpiring!({ until, cursor, limit }));
    return { tokens: page.tokens.map(toInfo), cursor: page.cursor };
  }

  /**
   * A page of only the tokens `visible` accepts. It reads on until it holds `limit` of them and knows
   * whether one more follows, or the list ends, or it has made `MAX_FILTERED_BATCHES` store calls.
   * Its cursor is that of its last token (one the caller may see), null at the end, or, if it found
   * none in all it read, where it stopped, sealed: never a position the caller may not learn.
   */
  async #visiblePage(
    user: string,
    start: string | null,
    limit: number,
    visible: (token: TokenInfo) => boolean | Promise<boolean>,
  ): Promise<TokenInfoPage> {
    const shown: TokenInfo[] = [];
    const after = (token: TokenInfo) =>
      formatPageCursor({ createdAt: token.createdAt.getTime(), id: token.id });
    let cursor = start;
    for (let batch = 0; batch < MAX_FILTERED_BATCHES; batch++) {
      const page = await this.#call('list', () => this.store.listPage(user, { cursor, limit: BATCH_SIZE }));
      for (const token of page.tokens.map(toInfo)) {
        if (!(await visible(token))) continue;
        if (shown.length === limit) return { tokens: shown, cursor: after(shown.at(-1)!) };
        shown.push(token);
      }
      cursor = page.cursor;
      if (cursor === null) return { tokens: shown, cursor: null };
    }
    const last = shown.at(-1);
    return { tokens: shown, cursor: last ? after(last) : this.#sealedCursors.seal(cursor!) };
  }

  /**
   * All the user's live tokens, newest first, read page by page (each page its own store call,
   * under its own deadline). For a user with very many tokens, `listPage` keeps memory bounded.
   */
  async list(user: string): Promise<TokenInfo[]> {
    const tokens: TokenInfo[] = [];
    let cursor: string | null = null;
    do {
      const page: TokenInfoPage = await this.listPage(user, { cursor, limit: BATCH_SIZE });
      tokens.push(...page.tokens);
      cursor = page.cursor;
    } while (cursor !== null);
    return tokens;
  }

  /**
   * Revokes a token and, depth-first, every token that descends from it (its children, made with it
   * through `issueFor` or `rotate`, theirs, and so on); false if there was no live token with that
   * id. Requests that start after this resolves are refused, the descendants' included. If it stops
   * before all the descendants are revoked, it throws `FamilyRevocationIncompleteError`, which says
   * how many were; revoking again revokes the rest, also once the token itself is gone.
   */
  async revoke(id: string): Promise<boolean> {
    return (await this.#revokeWithFamily(id)).itself;
  }

  /**
   * `revoke`, answering how many tokens it revoked: the token itself (if it was live) and its
   * descendants. For a caller that counts what it took away (the router's `DELETE /tokens`).
   */
  async revokeFamily(id: string): Promise<number> {
    return (await this.#revokeWithFamily(id)).count;
  }

  async #revokeWithFamily(id: string): Promise<{ itself: boolean; count: number }> {
    if (!isTokenId(id)) return { itself: false, count: 0 };
    const revoked = await this.#takeAway([id], 'revoke', () =>
      this.store.delete(id, this.#now() + TOMBSTONE_LIFE),
    );
    // Also when there was nothing to revoke: a retry after a failed publish publishes again.
    await this.#announce([id]);
    if (revoked)
      emit(this.onEvent, { type: 'revoked', time: new Date(this.#now()), tokenId: id, login: revoked.user });
    const itself = revoked !== null;
    try {
      return { itself, count: (itself ? 1 : 0) + (await this.#revokeDescendants(id)) };
    } catch (error) {
      if (!(error instanceof FamilyWalkStopped)) throw error;
      const count = error.revoked + (itself ? 1 : 0);
      throw new FamilyRevocationIncompleteError(id, count, error.reason, error.cause);
    }
  }

  /**
   * Revokes the live descendants of a token already revoked (or gone), each as `revoke` does one:
   * under the revocation deadline, announced to the caches, with a `revoked` event naming the
   * ancestor. Returns how many; throws `FamilyWalkStopped` (see lib/manage/family-revocation.ts).
   */
  #revokeDescendants(ancestorId: string): Promise<number> {
    const store = this.store;
    if (!store.listDescendants) return Promise.resolve(0);
    return revokeDescendants(ancestorId, {
      list: (id, limit) => this.#call('listDescendants', () => store.listDescendants!(id, limit)),
      revoke: async (ids) => {
        // Each under its own deadline: one that is late must not hide those that were revoked.
        const settled = await Promise.allSettled(
          ids.map((id) =>
            this.#takeAway([id], 'revoke', () => store.delete(id, this.#now() + TOMBSTONE_LIFE)),
          ),
        );
        const time = new Date(this.#now());
        const found = settled.map((result) => (result.status === 'fulfilled' ? result.value : null));
        // A listing holds descendants of any depth: their events come nearest first.
        const depth = (token: StoredToken) => token.ancestorIds?.length ?? 0;
        const revoked = found.filter((token): token is StoredToken => token !== null);
        for (const token of revoked.sort((a, b) => depth(a) - depth(b)))
          emit(this.onEvent, { type: 'revoked', time, tokenId: token.id, login: token.user, ancestorId });
        const failed = settled.find((result) => result.status === 'rejected');
        let failure: unknown = failed && storeFailure('revoke', failed.reason);
        try {
          await this.#announce(ids);
        } catch (error) {
          failure ??= error;
        }
        return { found, failure };
      },
    });
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
  async revokeLeaked(text: string, options: RevokeLeakedOptions): Promise<LeakVerdict> {
    const source = leakSource(options, this.tokenPrefix);
    const parsed = parseToken(text, this.tokenPrefix);
    if (typeof parsed === 'string') return 'unknown';
    const found = await this.#call('get', () => this.store.get(parsed.id));
    if (found !== null) {
      if (!hashesMatch(found.secretHash, parsed.secretHash) || found.expiresAt <= this.#now())
        return 'unknown';
      // The text is the live token's; false means another call took it away meanwhile.
      if (!(await this.revoke(parsed.id))) return 'already-revoked';
      emit(this.onEvent, {
        type: 'leaked',
        time: new Date(this.#now()),
        tokenId: parsed.id,
        login: found.user,
        source,
      });
      return 'revoked';
    }
    // No live record: `verify` is the store's only read of a tombstone, and writes nothing without a
    // live record (nor would this plan move an expiry); ids are never live again once gone.
    const plan = { now: this.#now(), expiresAt: null, touchIfBefore: 0 };
    const gone = await this.#call('verify', () => this.store.verify(parsed.id, parsed.secretHash, plan));
    if (gone === null || !isRevoked(gone)) return 'unknown';
    // Revoked before, but a leak report is a reason to make sure: revoking again changes nothing of
    // the token's, and finishes whatever goes with it that an earlier revocation may have left undone
    // (its announcement to the caches, its descendants).
    await this.revoke(parsed.id);
    return 'already-revoked';
  }

  /**
   * Revokes all of a user's tokens, and their descendants as `revoke` does, in batches (each a
   * listing and its revocations, under its own deadlines); returns how many, descendants included.
   * If the store fails midway, throws `RevokeAllIncompleteError`,
   * which says how many were revoked; running it again revokes the rest.
   */
  async revokeAll(user: string): Promise<number> {
    let revoked = 0;
    let cursor: string | null = null;
    try {
      do {
        const page = await this.#call('list', () => this.store.listPage(user, { cursor, limit: BATCH_SIZE }));
        const ids = page.tokens.map((token) => token.id);
        const settled = await this.#takeAway(ids, 'revokeAll', () =>
          Promise.allSettled(
            page.tokens.map((token) => this.store.delete(token.id, this.#now() + TOMBSTONE_LIFE)),
          ),
        );
        const time = new Date(this.#now());
        for (const result of settled) {
          if (result.status !== 'fulfilled' || result.value === null) continue;
          revoked++;
          emit(this.onEvent, { type: 'revoked', time, tokenId: result.value.id, login: user });
        }
        await this.#announce(ids);
        const failed = settled.find((result) => result.status === 'rejected');
        if (failed) throw storeFailure('revokeAll', failed.reason);
        // Each token's family goes with it, whoever its members belong to.
        for (const result of settled) {
          if (result.status !== 'fulfilled' || result.value === null) continue;
          try {
            revoked += await this.#revokeDescendants(result.value.id);
          } catch (error) {
            if (!(error instanceof FamilyWalkStopped)) throw error;
            revoked += error.revoked;
            throw error.cause instanceof StoreUnavailableError
              ? error.cause
              : new StoreUnavailableError(`Revoking a token's family stopped on ${error.reason}`);
          }
        }
        cursor = page.cursor;
      } while (cursor !== null);
    } catch (error) {
      if (revoked === 0 || !(error instanceof StoreUnavailableError)) throw error;
      throw new RevokeAllIncompleteError(user, revoked, error);
    }
    return revoked;
  }

  async close(): Promise<void> {
    this.#pendingIps.clear();
    await this.#cache?.close();
    await this.#onClose?.();
  }

  /** Whether text could hold a token of this service's prefix or its secret (see `tokenLikeText`). */
  isTokenLike(text: string): boolean {
    return this.#tokenLike(text);
  }

  async #checkUser(login: string, scopes: string[]): Promise<void> {
    if (!this.resolveUser && !this.canAccess) return;
    const user = this.resolveUser ? await this.resolveUser(login) : login;
    if (user === null || user === undefined) throw new UnknownUserError(login);
    if (!this.canAccess) return;
    for (const text of nodeScopes(scopes)) {
      const { nodeId, permission } = parseScope(text);
      if (!(await this.canAccess(user, nodeId, permission))) {
        throw new ScopeNotAllowedError(
          `User "${login}" has no "${permission}" access to node ${nodeId}, so no token can grant it`,
        );
      }
    }
  }

  #call<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return this.#deadlines.run(operation, call);
  }

  /**
   * Tells every process's cache, this one's at once, that these tokens changed. A revocation
   * resolves only once published: if the publish fails, the call rejects (the store has the change;
   * other caches drop the token within `maxStale`, and calling again publishes again).
   */
  async #announce(ids: readonly string[]): Promise<void> {
    this.#cache?.evict(ids);
    const channel = this.store.invalidations;
    if (channel !== undefined && ids.length > 0)
      await this.#revocationDeadlines.run('publish', () => channel.publish(ids));
  }

  /**
   * A store call that takes access away from these tokens, under the longer deadline of those (see
   * `timeout`). This process's cache drops them however it ends: a call that failed or was late may
   * still have been applied (its reply lost), and the cache must not go on accepting them meanwhile.
   */
  async #takeAway<T>(ids: readonly string[], operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await this.#revocationDeadlines.run(operation, call);
    } finally {
      this.#cache?.evict(ids);
    }
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

function toInfo(token: StoredToken): TokenInfo {
  return {
    id: token.id,
    user: token.user,
    label: token.label,
    // The caller's own copy: the record may be the cache's.
    scopes: [...token.scopes],
    createdAt: new Date(token.createdAt),
    expiresAt: new Date(token.expiresAt),
    hardExpiresAt: token.hardExpiresAt === null ? null : new Date(token.hardExpiresAt),
    autoRefresh: token.autoRefresh,
    lastUsedAt: token.lastUsedAt === null ? null : new Date(token.lastUsedAt),
    lastUsedIp: token.lastUsedIp,
    recentIps: token.recentIps.map((entry) => ({ ip: entry.ip, lastSeenAt: new Date(entry.lastSeenAt) })),
    parentId: token.ancestorIds?.[0] ?? null,
  };
}

/**
 * The ancestors of a token to be made, and those of them live before it was, to be read again after
 * (see lib/manage/family-revocation.ts).
 */
interface Family {
  ancestorIds: string[];
  live: string[];
}

/** The login of a caller: given as such, or the one its token info names. */
function callerLogin(caller: Caller): string | undefined {
  if (typeof caller === 'string') return caller.length > 0 ? caller : undefined;
  return typeof caller?.login === 'string' ? caller.login : undefined;
}

function validateIssue(
  options: IssueOptions,
  tokenLike: (text: string) => boolean,
): {
  user: string;
  label: string | null;
  hardLimit: number | null;
  window: number | null;
  scopes: string[];
} {
  const { user } = options ?? ({} as IssueOptions);
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_LOGIN || CONTROL.test(user)) {
    throw new InvalidTokenOptionsError('user must be a non-empty login without control characters');
  }
  const label = options.label ?? null;
  if (label !== null && !isValidLabel(label, tokenLike)) {
    throw new InvalidTokenOptionsError(
      `label must be text of at most ${MAX_LABEL} characters, without control characters or a token`,
    );
  }
  if (options.expiresIn === undefined && options.autoRefresh === undefined) {
    throw new InvalidTokenOptionsError(
      'A token needs expiresIn (hard limit, -e), autoRefresh (sliding window, -a), or both',
    );
  }
  return {
    user,
    label,
    hardLimit: options.expiresIn === undefined ? null : parseDuration(options.expiresIn),
    window: options.autoRefresh === undefined ? null : parseDuration(options.autoRefresh),
    scopes: normaliseScopes(options.scopes ?? []),
  };
}

/**
 * Labels are free text, short, without control characters (they end up in tables and logs) and
 * without anything that could be a token (`tokenLike`: a label is stored in clear and listed).
 */
export function isValidLabel(label: unknown, tokenLike: (text: string) => boolean): label is string {
  return typeof label === 'string' && label.length <= MAX_LABEL && !CONTROL.test(label) && !tokenLike(label);
}

/** A page size as asked for, or the default; `InvalidPageError` outside 1 to `MAX_PAGE_SIZE`. */
function pageLimit(limit: number | undefined): number {
  const size = limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new InvalidPageError(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return size;
}

function parseOverlap(overlap: string | number): number {
  return overlap === 0 || overlap === '0' ? 0 : parseDuration(overlap);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new TypeError(`${name} must be a positive number of milliseconds`);
  return value;
}
