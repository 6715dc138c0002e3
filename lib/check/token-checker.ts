import { StoreUnavailableError } from '../errors';
import type { OnEvent, RejectReason } from '../events';
import type { CheckedToken, CheckPlan, RecentIp, RevokedToken, StoredToken, TokenStore } from '../store';
import { hashesMatch, type ParsedToken, parseToken, slidingExpiry, type TokenTerms } from '../token-format';
import { AddressRecorder } from './address-recorder';
import { isRecentIp, NEW_IP_WRITE_GAP, recordableAddress } from './recent-ips';
import type { TokenCache } from './token-cache';

/**
 * The request path: one token checked. Every request that carries a token runs `check`, top to
 * bottom, and nothing else of the library's besides the middleware that reads the credentials and
 * answers, the token's format and the store: parse, the cache, the plan, `store.verify` under a
 * deadline, the judgement. It issues, lists and revokes nothing (that is lib/manage/), knows no HTTP
 * (lib/http/), and is not async: each promise layer costs every request a turn.
 */

/** Why a token was refused, for audit: never the token itself. */
export interface Refusal {
  ok: false;
  reason: RejectReason;
  tokenId?: string;
  login?: string;
}

/** What a check answers: the store's record itself on success. */
export type Check = { ok: true; token: StoredToken } | Refusal;

export interface TokenCheckerOptions {
  store: TokenStore;
  tokenPrefix: string;
  now: () => number;
  /** Deadline of each store call, ms. */
  timeout: number;
  touchInterval: number;
  trackIp: boolean;
  cache: TokenCache | undefined;
  onEvent: OnEvent | undefined;
  /** Whether text could hold a token (see `tokenLikeText`): a claimed login that could is refused. */
  tokenLike: (text: string) => boolean;
}

/** The longest login a check looks up, and an issue accepts. */
export const MAX_LOGIN = 256;

export class TokenChecker {
  readonly store: TokenStore;
  readonly tokenPrefix: string;
  readonly touchInterval: number;
  readonly trackIp: boolean;
  readonly deadlines: CallDeadlines;
  readonly #now: () => number;
  readonly #cache: TokenCache | undefined;
  readonly #tokenLike: (text: string) => boolean;
  /** What `trackIp` writes besides the checks' own plans: addresses seen within the new-IP gap. */
  readonly #addresses: AddressRecorder | undefined;

  constructor(options: TokenCheckerOptions) {
    this.store = options.store;
    this.tokenPrefix = options.tokenPrefix;
    this.touchInterval = options.touchInterval;
    this.trackIp = options.trackIp;
    this.deadlines = new CallDeadlines(options.timeout);
    this.#now = options.now;
    this.#cache = options.cache;
    this.#tokenLike = options.tokenLike;
    this.#addresses = options.trackIp
      ? new AddressRecorder({
          store: options.store,
          deadlines: this.deadlines,
          now: options.now,
          touchInterval: options.touchInterval,
          onEvent: options.onEvent,
          judge,
        })
      : undefined;
  }

  /**
   * Checks a token as a use: a sliding token's expiry moves on, `lastUsedAt` is written at most once a
   * touch interval. With `login` (Basic auth) the token must be that login's. Rejects only with
   * `StoreUnavailableError`.
   */
  check(token: string, login: string | undefined, ip: string | undefined): Promise<Check> {
    const parsed = this.#read(token, login);
    if ('ok' in parsed) return Promise.resolve(parsed);
    const now = this.#now();
    const addresses = this.#addresses;
    // Only an address is recorded: a proxy header can hold anything.
    const recordedIp = addresses ? (recordableAddress(ip) ?? null) : undefined;
    // With addresses recorded the plan comes first: a hit from an address new to the token goes to
    // the store too, to be written (`useIsDue`). Without, a hit needs none.
    const ipPlan =
      addresses === undefined
        ? undefined
        : planCheck(parsed, now, this.touchInterval, recordedIp, addresses.pendingOf(parsed.id));
    // A hit is judged as the store's answer is; a miss goes to the store and keeps a success.
    const cache = this.#cache;
    const cached = cache?.get(parsed.id, now);
    if (cached !== undefined && (ipPlan === undefined || !useIsDue(cached, ipPlan))) {
      const result = judge(cached, parsed, login, now);
      if (result.ok && ipPlan !== undefined) addresses!.keepIfNew(result.token, ipPlan, parsed);
      // Answered in the event loop's check phase, as a store's answer comes in a later turn than the
      // request: the responses to every request read in one turn then go out together, where answering
      // each at once wakes its client once per response (see docs/cache.md).
      return new Promise((resolve) => setImmediate(resolve, result));
    }
    const mark = cache?.mark() ?? 0;
    const plan = ipPlan ?? planCheck(parsed, now, this.touchInterval, undefined);
    return this.deadlines
      .run('verify', () => this.store.verify(parsed.id, parsed.secretHash, plan))
      .then((found) => {
        // Judged as of the answer: a token that expired while the store answered is expired.
        const result = judge(found, parsed, login, this.#now());
        if (addresses !== undefined) addresses.noted(parsed, plan, found, result);
        if (cache !== undefined && result.ok) cache.add(mark, result.token, now);
        return result;
      });
  }

  /**
   * A check that is no use: one read of the store (never the cache, so that a revocation shows at
   * once), judged as a check's answer is. Nothing is written: for asking about a token (introspection).
   */
  checkWithoutUse(token: string, login: string | undefined): Promise<Check> {
    const parsed = this.#read(token, login);
    if ('ok' in parsed) return Promise.resolve(parsed);
    return this.deadlines
      .run('get', () => this.store.get(parsed.id))
      .then((found) => judge(found, parsed, login, this.#now()));
  }

  /** The token read, or the refusal of a claimed login or a text that no store need be asked about. */
  #read(token: string, login: string | undefined): ParsedToken | Refusal {
    // A token pasted into the user-name field (as it is, padded, or after `Bearer ` or `token=`) is a
    // mistake to refuse here, before it can reach the store or an audit event: the claimed login is
    // logged, and this one could hold a secret.
    if (this.refusesLogin(login)) return { ok: false, reason: 'user_mismatch' };
    const parsed = parseToken(token, this.tokenPrefix);
    // A forged token (its id is not the hash of its secret and terms) was never issued: unknown.
    if (typeof parsed === 'string')
      return { ok: false, reason: parsed === 'forged' ? 'unknown' : parsed, login };
    return parsed;
  }

  /** Whether a claimed login is too long or could hold a token: never looked up, nor reported. */
  refusesLogin(login: string | undefined): boolean {
    return login !== undefined && (login.length > MAX_LOGIN || this.#tokenLike(login));
  }

  /** Drops what this process keeps of these tokens: they changed, or are being taken away. */
  forget(ids: readonly string[]): void {
    this.#cache?.evict(ids);
  }

  async close(): Promise<void> {
    this.#addresses?.clear();
    await this.#cache?.close();
  }
}

/** What the store found for a parsed token, judged: the same single lookup for every well-formed token. */
function judge(
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

/** Whether what a store found is a tombstone (see `RevokedToken`). */
export function isRevoked(found: StoredToken | RevokedToken | CheckedToken): found is RevokedToken {
  return 'revokedAt' in found;
}

/**
 * What one check must do to a token's record, from the terms the token's text carries: the checker
 * decides it here, once, and every store applies it as it is (see `TokenStore.verify` and `useIsDue`).
 *
 * A sliding token's expiry moves to `now + window`, never past its hard limit; a token with only a
 * hard limit keeps its expiry. A use is written down at most once per `touchInterval`, or sooner for
 * an address new to the token (or addresses `pending` from earlier checks), once per
 * `NEW_IP_WRITE_GAP` at most. `ip` is what to record with a written use: undefined when the service
 * records no IPs, null for a client without a valid address.
 */
export function planCheck(
  terms: TokenTerms,
  now: number,
  touchInterval: number,
  ip: string | null | undefined,
  pending?: readonly RecentIp[],
): CheckPlan {
  return {
    now,
    expiresAt: slidingExpiry(terms, now),
    touchIfBefore: now - touchInterval,
    ip,
    // Always there, so that every plan has one shape: the stores' request path stays monomorphic.
    newIpIfBefore: typeof ip === 'string' || pending !== undefined ? now - NEW_IP_WRITE_GAP : undefined,
    pendingIps: pending,
  };
}

/**
 * Whether a check with this plan writes a use to this record (see `TokenStore.verify`): none yet or
 * the touch interval over, or an address the record does not hold, or pending ones, once the gap
 * since the last write is over. The stores that decide in TypeScript call this; the others say the
 * same in their own language (adapters/redis-scripts.ts, adapters/postgres-statements.ts).
 */
export function useIsDue(record: Pick<StoredToken, 'lastUsedAt' | 'recentIps'>, plan: CheckPlan): boolean {
  const last = record.lastUsedAt;
  if (last === null || last <= plan.touchIfBefore) return true;
  const gap = plan.newIpIfBefore;
  if (gap === undefined || last > gap) return false;
  const pending = plan.pendingIps;
  return (
    (pending !== undefined && pending.length > 0) ||
    (typeof plan.ip === 'string' && !isRecentIp(record.recentIps, plan.ip))
  );
}

/**
 * Puts a deadline on store calls: whatever the client's own settings, an authentication decision
 * waits at most `ms`; a late or failed call becomes `StoreUnavailableError` (a 503). Every store
 * call of the library runs under one (lib/manage/ and the throttle's too).
 */
export class CallDeadlines {
  readonly ms: number;

  constructor(ms: number) {
    this.ms = ms;
  }

  /** Runs a store call under the deadline: its value, or `StoreUnavailableError` if it failed, threw or was late. */
  run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // unref: a deadline must never be what keeps a process alive (a script that issued its token,
      // or a server that closed, exits when its work is done); a call in flight holds the loop open
      // by its own socket, the timer only watches it.
      const timer = setTimeout(
        () =>
          reject(new StoreUnavailableError(`Token store did not answer ${operation} within ${this.ms} ms`)),
        this.ms,
      ).unref();
      let result: Promise<T>;
      try {
        result = call();
      } catch (error) {
        result = Promise.reject(error);
      }
      // Whichever settles the promise first wins; an answer after the deadline is dropped.
      result.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(storeFailure(operation, error));
        },
      );
    });
  }
}

/** A store's failure as the caller sees it: `StoreUnavailableError`, the original as its cause. */
export function storeFailure(operation: string, error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`Token store failed during ${operation}: ${message}`, { cause: error });
}
