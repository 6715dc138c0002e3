import type { RejectReason } from '../events';
import type { ResolveUser, TokenService } from '../manage/token-service';
import type { StoredToken } from '../store';
import type { PersonalTokenAuthInfo } from './auth-info';
import type { Credentials, Scheme } from './credentials';

/** The outcome of one request's credentials; the middleware and the strategies each turn it into a response. */
export type CredentialsOutcome =
  | { kind: 'success'; user: unknown; info: PersonalTokenAuthInfo }
  /** Nothing for an enabled scheme: the request did not try. */
  | { kind: 'absent' }
  | { kind: 'malformed'; scheme: Scheme }
  | {
      kind: 'rejected';
      scheme: Scheme;
      reason: RejectReason | 'user_disabled';
      tokenId?: string;
      login?: string;
    };

/** What a check of credentials needs besides them. */
export interface CredentialsCheck {
  tokens: TokenService;
  /** The schemes the caller accepts; credentials of another scheme are absent. */
  schemes: readonly Scheme[];
  resolveUser: ResolveUser | undefined;
  /** The client IP, recorded with the use when the service tracks IPs. */
  ip?: string | undefined;
}

/**
 * Checks credentials against the token service, then `resolveUser`. Rejects only when the store or
 * `resolveUser` fails: refusals are outcomes. (What the middleware and the Passport strategies run.)
 */
export function authenticateCredentials(
  credentials: Credentials,
  { tokens, schemes, resolveUser, ip }: CredentialsCheck,
): Promise<CredentialsOutcome> {
  const scheme = attemptedScheme(credentials, schemes);
  if (scheme === undefined || credentials.scheme === 'none') return Promise.resolve(ABSENT);
  if (credentials.scheme === 'malformed') return Promise.resolve({ kind: 'malformed', scheme });
  const login = credentials.scheme === 'basic' ? credentials.login : undefined;
  const token = credentials.scheme === 'basic' ? credentials.password : credentials.token;
  // One promise chain, not an async function: every request runs it, and each layer costs a turn.
  // Whatever goes wrong still comes out as a rejection, as it would from an async function.
  let checked: ReturnType<TokenService['check']>;
  try {
    checked = tokens.check(token, login, ip);
  } catch (error) {
    return Promise.reject(error);
  }
  return checked.then((result) => {
    // result.login, not login: the service leaves out a claimed login that looks like a secret.
    if (!result.ok) {
      return {
        kind: 'rejected',
        scheme,
        reason: result.reason,
        tokenId: result.tokenId,
        login: result.login,
      };
    }
    const record = result.token;
    if (!resolveUser) return success(scheme, record, { login: record.user });
    const user = resolveUser(record.user);
    // A synchronous resolveUser costs no extra turn of the event loop.
    return isThenable(user)
      ? Promise.resolve(user).then((resolved) => resolvedOutcome(scheme, record, resolved))
      : resolvedOutcome(scheme, record, user);
  });
}

const ABSENT: CredentialsOutcome = { kind: 'absent' };

/** The enabled scheme that credentials try, well-formed or not; undefined if they try none (absent). */
export function attemptedScheme(credentials: Credentials, schemes: readonly Scheme[]): Scheme | undefined {
  const scheme = credentials.scheme === 'malformed' ? credentials.attempted : credentials.scheme;
  return scheme !== 'none' && schemes.includes(scheme) ? scheme : undefined;
}

function resolvedOutcome(scheme: Scheme, record: StoredToken, user: unknown): CredentialsOutcome {
  if (user === null || user === undefined) {
    return { kind: 'rejected', scheme, reason: 'user_disabled', tokenId: record.id, login: record.user };
  }
  return success(scheme, record, user);
}

function success(scheme: Scheme, record: StoredToken, user: unknown): CredentialsOutcome {
  return {
    kind: 'success',
    user,
    info: {
      tokenId: record.id,
      login: record.user,
      // The request's own copy: the record may be the cache's, which the next request reads.
      scopes: [...record.scopes],
      expiresAt: new Date(record.expiresAt),
      hardExpiresAt: record.hardExpiresAt === null ? null : new Date(record.hardExpiresAt),
      autoRefresh: record.autoRefresh,
      scheme,
    },
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
