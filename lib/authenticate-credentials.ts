import type { PersonalTokenAuthInfo } from './auth-info';
import type { Credentials } from './credentials';
import type { RejectReason } from './events';
import type { StoredToken } from './store';
import type { ResolveUser, TokenService } from './token-service';

export type Scheme = 'bearer' | 'basic';

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

/**
 * Checks credentials against the token service, then `resolveUser`. Rejects only when the store or
 * `resolveUser` fails: refusals are outcomes. (What the Passport strategies use.)
 */
export function authenticateCredentials(
  credentials: Credentials,
  tokens: TokenService,
  schemes: readonly Scheme[],
  resolveUser: ResolveUser | undefined,
  ip?: string,
): Promise<CredentialsOutcome> {
  return new Promise((resolve, reject) =>
    checkCredentials(credentials, tokens, schemes, resolveUser, ip, resolve, reject),
  );
}

/**
 * The same, through callbacks: what `personalTokenAuth()` runs on every request, with no promise
 * of its own (`fail` gets a store or `resolveUser` failure).
 */
export function checkCredentials(
  credentials: Credentials,
  tokens: TokenService,
  schemes: readonly Scheme[],
  resolveUser: ResolveUser | undefined,
  ip: string | undefined,
  done: (outcome: CredentialsOutcome) => void,
  fail: (error: unknown) => void,
): void {
  const scheme = attemptedScheme(credentials, schemes);
  if (scheme === undefined || credentials.scheme === 'none') {
    done(ABSENT);
    return;
  }
  if (credentials.scheme === 'malformed') {
    done({ kind: 'malformed', scheme });
    return;
  }
  const login = credentials.scheme === 'basic' ? credentials.login : undefined;
  const token = credentials.scheme === 'basic' ? credentials.password : credentials.token;
  tokens.check(
    token,
    login,
    ip,
    (result) => {
      // result.login, not login: the service leaves out a claimed login that looks like a secret.
      if (!result.ok) {
        return done({
          kind: 'rejected',
          scheme,
          reason: result.reason,
          tokenId: result.tokenId,
          login: result.login,
        });
      }
      const record = result.token;
      if (!resolveUser) return done(success(scheme, record, { login: record.user }));
      let user: unknown;
      try {
        user = resolveUser(record.user);
      } catch (error) {
        return fail(error);
      }
      if (isThenable(user)) {
        Promise.resolve(user).then((resolved) => done(resolvedOutcome(scheme, record, resolved)), fail);
      } else {
        done(resolvedOutcome(scheme, record, user));
      }
    },
    fail,
  );
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
      scopes: record.scopes,
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
