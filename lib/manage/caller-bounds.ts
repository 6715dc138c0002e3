import { BroaderThanCallerError } from '../errors';
import {
  grantsAllow,
  INTROSPECT_SCOPE,
  nodeScopes,
  parseScope,
  type ResolveAncestors,
  type ScopeGrants,
  scopeGrants,
} from '../scopes';

/**
 * What a token may hand on, to a token it makes (`issueFor`) or rotates (`rotate`): no scope it
 * does not cover, no hard limit after its own, and no longer idle life than its own. The rule lives
 * here only.
 *
 * The caller's limits are those the check that authenticated *this* request found (`req.authInfo`),
 * never a second read of the store: a token that expires or is revoked meanwhile must not lose its
 * limits along with its record.
 */
export interface CallerBounds {
  tokenId: string;
  /** Empty: the user's full access. */
  scopes: readonly string[];
  /** When the caller expires if not used again (ms since the epoch). */
  expiresAt: number;
  hardExpiresAt: number | null;
  autoRefresh: number | null;
}

/** The terms of a token to be made: absolute hard limit (ms since the epoch) and window (ms). */
export interface TokenTermsRequest {
  scopes: readonly string[];
  hardExpiresAt: number | null;
  autoRefresh: number | null;
}

/**
 * Who asks for a token: the `req.authInfo` that the check of its request produced (a
 * `PersonalTokenAuthInfo` when a personal token authenticated it), or the login of a user the app
 * authenticated otherwise (a session, OAuth...).
 */
export type Caller = CallerTokenInfo | string;

/** `req.authInfo` as this module reads it: every field checked before use. */
export interface CallerTokenInfo {
  /** Never a request: its token info is `req.authInfo`. */
  headers?: never;
  tokenId?: unknown;
  login?: unknown;
  scopes?: unknown;
  expiresAt?: unknown;
  hardExpiresAt?: unknown;
  autoRefresh?: unknown;
}

/**
 * The bounds of the personal token that authenticated the caller, or undefined when no personal
 * token did (a login, or token info of another kind). Token info that names a token but lacks any
 * of its limits was not set by this library's check: refused, as nothing it may hand on is known.
 */
export function callerBounds(caller: Caller | undefined): CallerBounds | undefined {
  if (typeof caller !== 'object' || caller === null) return undefined;
  // A request passed whole would name no token, and a scoped token's request would escape its bounds.
  if ('headers' in caller)
    throw new TypeError('Pass the caller as req.authInfo (or a login), not the request');
  if (caller.tokenId === undefined) return undefined;
  const { tokenId, scopes, expiresAt, hardExpiresAt, autoRefresh } = caller;
  if (
    typeof tokenId === 'string' &&
    Array.isArray(scopes) &&
    scopes.every((scope) => typeof scope === 'string') &&
    isDate(expiresAt) &&
    (hardExpiresAt === null || isDate(hardExpiresAt)) &&
    (autoRefresh === null || (typeof autoRefresh === 'number' && autoRefresh > 0))
  ) {
    return {
      tokenId,
      scopes,
      expiresAt: expiresAt.getTime(),
      hardExpiresAt: hardExpiresAt === null ? null : hardExpiresAt.getTime(),
      autoRefresh,
    };
  }
  throw new BroaderThanCallerError(
    'ERR_CALLER_UNKNOWN',
    'The limits of the token making the request are unknown (req.authInfo was not set by personalTokenAuth or its strategies)',
  );
}

/**
 * Throws `BroaderThanCallerError` for scopes no caller may hand on, whoever it is (a personal token, a
 * user with a session, even with full access): `introspect`, which only `issue()` grants. Every token
 * that `issueFor` makes, or a rotation asked for by a caller hands on, goes through this.
 */
export function assertGrantableByCaller(scopes: readonly string[]): void {
  if (scopes.includes(INTROSPECT_SCOPE)) {
    throw new BroaderThanCallerError(
      'ERR_SCOPE_BROADER_THAN_CALLER',
      `Scope ${INTROSPECT_SCOPE} is granted only by an administrator (TokenService.issue, personal-token create)`,
    );
  }
}

/**
 * Throws `BroaderThanCallerError` unless `terms` stay within `caller`'s: every scope covered, a hard
 * limit no later than the caller's (none at all is later), and, for a sliding caller, a window no
 * longer than its own or a hard limit no later than its current expiry.
 */
export async function assertWithinCaller(
  caller: CallerBounds,
  terms: TokenTermsRequest,
  now: number,
  coverage: ScopeCoverage = new ScopeCoverage(caller, undefined),
): Promise<void> {
  const uncovered = await coverage.firstUncovered(terms.scopes);
  if (uncovered !== undefined) {
    throw new BroaderThanCallerError(
      'ERR_SCOPE_BROADER_THAN_CALLER',
      uncovered === null
        ? 'A scoped token can only make scoped tokens: give at least one scope it covers'
        : `Scope ${uncovered} is broader than the scopes of the token making the request`,
    );
  }
  if (caller.expiresAt <= now) {
    throw new BroaderThanCallerError(
      'ERR_EXPIRY_LATER_THAN_CALLER',
      'The token making the request has expired: it can make no token',
    );
  }
  const hardLimit = caller.hardExpiresAt;
  if (hardLimit !== null && (terms.hardExpiresAt === null || terms.hardExpiresAt > hardLimit)) {
    throw new BroaderThanCallerError(
      'ERR_EXPIRY_LATER_THAN_CALLER',
      `The new token must expire no later than the token making the request (${new Date(hardLimit).toISOString()})`,
    );
  }
  const window = caller.autoRefresh;
  if (
    window !== null &&
    !(terms.autoRefresh !== null && terms.autoRefresh <= window) &&
    !(terms.hardExpiresAt !== null && terms.hardExpiresAt <= caller.expiresAt)
  ) {
    throw new BroaderThanCallerError(
      'ERR_WINDOW_LONGER_THAN_CALLER',
      `The token making the request expires after ${window} ms unused: the new token needs a sliding window no longer than that, or a hard limit no later than ${new Date(caller.expiresAt).toISOString()}`,
    );
  }
}

/**
 * The caller's scopes parsed once, and each node's ancestors resolved once: one per request, since a
 * listing checks many tokens against the same caller, and the nodes their scopes name repeat (the
 * app's resolveAncestors may be slow, or even synchronous I/O).
 */
export class ScopeCoverage {
  readonly callerId: string;
  /** Null for an unscoped caller, which covers anything. */
  readonly #grants: ScopeGrants | null;
  readonly #ancestors = new Map<string, Promise<readonly string[]>>();
  readonly #resolveAncestors: ResolveAncestors | undefined;

  constructor(caller: CallerBounds, resolveAncestors: ResolveAncestors | undefined) {
    this.callerId = caller.tokenId;
    this.#grants = caller.scopes.length === 0 ? null : scopeGrants(caller.scopes);
    this.#resolveAncestors = resolveAncestors;
  }

  /** Whether the caller's scopes cover all of `scopes` (an unscoped caller covers anything). */
  async covers(scopes: readonly string[]): Promise<boolean> {
    return (await this.firstUncovered(scopes)) === undefined;
  }

  /** The first scope not covered, null for "no scopes" (full access) under a scoped caller, or undefined. */
  async firstUncovered(scopes: readonly string[]): Promise<string | null | undefined> {
    if (this.#grants === null) return undefined;
    if (scopes.length === 0) return null;
    // `introspect` is refused for every caller before this (`assertGrantableByCaller`); no node
    // scope covers it either.
    if (scopes.includes(INTROSPECT_SCOPE)) return INTROSPECT_SCOPE;
    for (const text of nodeScopes(scopes)) {
      const { nodeId, permission } = parseScope(text);
      if (!grantsAllow(this.#grants, nodeId, await this.#ancestorsOf(nodeId), permission)) return text;
    }
    return undefined;
  }

  #ancestorsOf(nodeId: string): Promise<readonly string[]> {
    let ancestors = this.#ancestors.get(nodeId);
    if (ancestors === undefined) {
      const resolve = this.#resolveAncestors;
      ancestors = resolve ? Promise.resolve().then(() => resolve(nodeId)) : Promise.resolve([]);
      this.#ancestors.set(nodeId, ancestors);
    }
    return ancestors;
  }
}

function isDate(value: unknown): value is Date {
  return value instanceof Date && Number.isFinite(value.getTime());
}
