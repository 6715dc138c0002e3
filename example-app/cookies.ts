// The two cookie chores the sign-in needs, done by hand rather than with another dependency.

/** The cookies of a `Cookie` header, by name (the first one wins when a name repeats). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (header ?? '').split(';')) {
    const separator = pair.indexOf('=');
    if (separator <= 0) continue;
    const name = pair.slice(0, separator).trim();
    let value = pair.slice(separator + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export interface CookieAttributes {
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
  /** Only over HTTPS. */
  secure: boolean;
  /**
   * Lax (the default) is not sent with cross-site POSTs, still sent when following a link here; Strict is
   * never sent with a request another site started.
   */
  sameSite?: 'Lax' | 'Strict';
}

/** A `Set-Cookie` value for a cookie no script reads (HttpOnly), for the whole site. */
export function sessionCookie(
  name: string,
  value: string,
  { maxAge, secure, sameSite = 'Lax' }: CookieAttributes,
): string {
  const attributes = [`${name}=${value}`, 'Path=/', 'HttpOnly', `SameSite=${sameSite}`, `Max-Age=${maxAge}`];
  if (secure) attributes.push('Secure');
  return attributes.join('; ');
}
