import { parseDuration } from './duration';
import { InvalidTokenOptionsError, ScopeNotAllowedError, UnknownUserError } from './errors';
import { normaliseScopes, type Permission, parseScope, type Scope } from './scopes';
import type { StoredToken, TokenStore } from './store';
import {
  assertTokenPrefix,
  DEFAULT_TOKEN_PREFIX,
  generateToken,
  hashesMatch,
  hashSecret,
  isTokenId,
  parseToken,
} from './token-format';
import { withTimeout } from './with-timeout';

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
  /** Deadline for each store call, in ms. Default 1000. */
  timeout?: number;
  /** How often at most a token's `lastUsedAt` is written, in ms. Default 60000. */
  touchInterval?: number;
  /** Refuse to issue for unknown users; also the middleware's default `resolveUser`. */
  resolveUser?: ResolveUser;
  /** Refuse a scope on a node the user cannot reach in the first place. */
  canAccess?: CanAccess;
  /** Called by `close()`: how `personalTokenAuth()` quits the Redis client it created itself. */
  onClose?: () => Promise<void>;
}

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
}

/** What `issue()` returns: the only time the token text exists outside the user's hands. */
export interface IssuedToken extends TokenInfo {
  token: string;
}

/** Why a token was refused. Operators may see it; clients never do (all refusals look alike). */
export type RejectReason = 'malformed' | 'bad_checksum' | 'unknown' | 'user_mismatch';

export type Authentication =
  | { ok: true; token: TokenInfo }
  | { ok: false; reason: RejectReason; tokenId?: string };

const MAX_LABEL = 200;
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
  readonly #now: () => number;
  readonly #onClose: (() => Promise<void>) | undefined;

  constructor(options: TokenServiceOptions) {
    const store = options?.store;
    for (const method of ['create', 'verify', 'get', 'listByUser', 'delete', 'deleteByUser'] as const) {
      if (typeof store?.[method] !== 'function') {
        throw new TypeError(`TokenService needs a store with a ${method}() method (see TokenStore)`);
      }
    }
    this.store = store;
    this.tokenPrefix = options.tokenPrefix ?? DEFAULT_TOKEN_PREFIX;
    assertTokenPrefix(this.tokenPrefix);
    this.timeout = positive('timeout', options.timeout ?? 1000);
    this.touchInterval = positive('touchInterval', options.touchInterval ?? 60_000);
    this.resolveUser = options.resolveUser;
    this.canAccess = options.canAccess;
    this.#now = options.now ?? (store.now ? () => store.now!() : Date.now);
    this.#onClose = options.onClose;
  }

  now(): number {
    return this.#now();
  }

  async issue(options: IssueOptions): Promise<IssuedToken> {
    const { user } = options ?? ({} as IssueOptions);
    if (typeof user !== 'string' || user.length === 0 || user.length > MAX_LOGIN || CONTROL.test(user)) {
      throw new InvalidTokenOptionsError('user must be a non-empty login without control characters');
    }
    const label = options.label ?? null;
    if (label !== null && (typeof label !== 'string' || label.length > MAX_LABEL || CONTROL.test(label))) {
      throw new InvalidTokenOptionsError(`label must be text of at most ${MAX_LABEL} characters`);
    }
    if (options.expiresIn === undefined && options.autoRefresh === undefined) {
      throw new InvalidTokenOptionsError(
        'A token needs expiresIn (hard limit, -e), autoRefresh (sliding window, -a), or both',
      );
    }
    const hardLimit = options.expiresIn === undefined ? null : parseDuration(options.expiresIn);
    const window = options.autoRefresh === undefined ? null : parseDuration(options.autoRefresh);
    const scopes = normaliseScopes(options.scopes ?? []);
    await this.#checkUser(user, scopes);

    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.#now();
      const hardExpiresAt = hardLimit === null ? null : now + hardLimit;
      const { token, id, secret } = generateToken(this.tokenPrefix);
      const record: StoredToken = {
        id,
        user,
        secretHash: hashSecret(secret),
        label,
        scopes,
        createdAt: now,
        expiresAt: Math.min(
          window === null ? Number.POSITIVE_INFINITY : now + window,
          hardExpiresAt ?? Number.POSITIVE_INFINITY,
        ),
        hardExpiresAt,
        autoRefresh: window,
        lastUsedAt: null,
      };
      // An id collision (64 random bits) is astronomically rare; the store refuses it rather than overwrite.
      if (await this.#call('create', () => this.store.create(record))) return { token, ...toInfo(record) };
    }
    throw new Error('Could not find a free token id in 3 attempts');
  }

  /**
   * Checks a token and, for a sliding one, pushes its expiry forward. With `login` (Basic auth) the
   * token must belong to that login. Returns why it failed, for audit; never the token itself.
   */
  async authenticate(token: string, options: { login?: string } = {}): Promise<Authentication> {
    const parsed = parseToken(token, this.tokenPrefix);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    const secretHash = hashSecret(parsed.secret);
    const stored = await this.#call('verify', () =>
      this.store.verify(parsed.id, secretHash, { login: options.login, touchInterval: this.touchInterval }),
    );
    if (!stored || !hashesMatch(stored.secretHash, secretHash) || stored.expiresAt <= this.#now()) {
      return { ok: false, reason: 'unknown', tokenId: parsed.id };
    }
    if (options.login !== undefined && options.login !== stored.user) {
      return { ok: false, reason: 'user_mismatch', tokenId: parsed.id };
    }
    return { ok: true, token: toInfo(stored) };
  }

  /** The token's record, or null for a malformed, unknown, expired or revoked one. */
  async verify(token: string, options: { login?: string } = {}): Promise<TokenInfo | null> {
    const result = await this.authenticate(token, options);
    return result.ok ? result.token : null;
  }

  /** A token's record by id, without refreshing it. */
  async inspect(id: string): Promise<TokenInfo | null> {
    if (!isTokenId(id)) return null;
    const stored = await this.#call('get', () => this.store.get(id));
    return stored ? toInfo(stored) : null;
  }

  /** The user's live tokens, newest first. */
  async list(user: string): Promise<TokenInfo[]> {
    const stored = await this.#call('list', () => this.store.listByUser(user));
    return stored.map(toInfo);
  }

  /** Revokes a token; false if there was none. Requests that start after this resolves are refused. */
  async revoke(id: string): Promise<boolean> {
    if (!isTokenId(id)) return false;
    return this.#call('revoke', () => this.store.delete(id));
  }

  /** Revokes all of a user's tokens; returns how many. */
  async revokeAll(user: string): Promise<number> {
    return this.#call('revokeAll', () => this.store.deleteByUser(user));
  }

  async close(): Promise<void> {
    await this.#onClose?.();
  }

  async #checkUser(login: string, scopes: string[]): Promise<void> {
    if (!this.resolveUser && !this.canAccess) return;
    const user = this.resolveUser ? await this.resolveUser(login) : login;
    if (user === null || user === undefined) throw new UnknownUserError(login);
    if (!this.canAccess) return;
    for (const text of scopes) {
      const { nodeId, permission } = parseScope(text);
      if (!(await this.canAccess(user, nodeId, permission))) {
        throw new ScopeNotAllowedError(
          `User "${login}" has no "${permission}" access to node ${nodeId}, so no token can grant it`,
        );
      }
    }
  }

  #call<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return withTimeout(this.timeout, operation, call);
  }
}

function toInfo(token: StoredToken): TokenInfo {
  return {
    id: token.id,
    user: token.user,
    label: token.label,
    scopes: token.scopes,
    createdAt: new Date(token.createdAt),
    expiresAt: new Date(token.expiresAt),
    hardExpiresAt: token.hardExpiresAt === null ? null : new Date(token.hardExpiresAt),
    autoRefresh: token.autoRefresh,
    lastUsedAt: token.lastUsedAt === null ? null : new Date(token.lastUsedAt),
  };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new TypeError(`${name} must be a positive number of milliseconds`);
  return value;
}
