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
  const scheme = credentials.scheme;
  if (scheme === 'none' || scheme === 'malformed') {
    const attempted = scheme === 'malformed' && schemes.includes(credentials.attempted);
    done(attempted ? { kind: 'malformed', scheme: credentials.attempted } : ABSENT);
    return;
  }
  if (!schemes.includes(scheme)) {
    done(ABSENT);
    return;
  }
  const login = scheme === 'basic' ? credentials.login : undefined;
  const token = scheme === 'basic' ? credentials.password : credentials.token;
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
