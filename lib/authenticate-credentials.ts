import type { PersonalTokenAuthInfo } from './auth-info';
import type { Credentials } from './credentials';
import type { RejectReason } from './events';
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
 * Checks credentials against the token service, then `resolveUser`. Throws only when the store or
 * `resolveUser` fails: refusals are outcomes.
 */
export async function authenticateCredentials(
  credentials: Credentials,
  tokens: TokenService,
  schemes: readonly Scheme[],
  resolveUser: ResolveUser | undefined,
  ip?: string,
): Promise<CredentialsOutcome> {
  if (credentials.scheme === 'none') return { kind: 'absent' };
  if (credentials.scheme === 'malformed') {
    return schemes.includes(credentials.attempted)
      ? { kind: 'malformed', scheme: credentials.attempted }
      : { kind: 'absent' };
  }
  const scheme = credentials.scheme;
  if (!schemes.includes(scheme)) return { kind: 'absent' };
  const login = scheme === 'basic' ? credentials.login : undefined;
  const token = scheme === 'basic' ? credentials.password : credentials.token;
  const result = await tokens.authenticate(token, { login, ip });
  // result.login, not login: the service leaves out a claimed login that looks like a secret.
  if (!result.ok) {
    return { kind: 'rejected', scheme, reason: result.reason, tokenId: result.tokenId, login: result.login };
  }
  const record = result.token;
  const user = resolveUser ? await resolveUser(record.user) : { login: record.user };
  if (user === null || user === undefined) {
    return { kind: 'rejected', scheme, reason: 'user_disabled', tokenId: record.id, login: record.user };
  }
  return {
    kind: 'success',
    user,
    info: {
      tokenId: record.id,
      login: record.user,
      scopes: record.scopes,
      expiresAt: record.expiresAt,
      autoRefresh: record.autoRefresh,
      scheme,
    },
  };
}
