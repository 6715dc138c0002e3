/** The `WWW-Authenticate` challenges, one per scheme (RFC 6750 for Bearer, RFC 7617 for Basic). */
/** The realm of the challenges when none is given, as passport-http's. */
export const DEFAULT_REALM = 'Users';

export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

// A realm goes inside a quoted string; quotes, backslashes and control characters would break the header.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const UNSAFE_REALM = /["\\\u0000-\u001f\u007f]/;

export function assertRealm(realm: string): void {
  if (typeof realm !== 'string' || realm.length === 0 || UNSAFE_REALM.test(realm)) {
    throw new TypeError(`realm must be non-empty text without quotes, backslashes or control characters`);
  }
}

export function bearerChallenge(realm: string, error?: BearerError): string {
  return error ? `Bearer realm="${realm}", error="${error}"` : `Bearer realm="${realm}"`;
}

export function basicChallenge(realm: string): string {
  return `Basic realm="${realm}", charset="UTF-8"`;
}
