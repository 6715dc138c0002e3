import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { parseCookies, sessionCookie } from './cookies';

/**
 * The cookie the sign-in form's token is bound to. Over HTTPS it takes the `__Host-` prefix, which browsers
 * only accept from this very host, with `Secure` and `Path=/`: a sibling subdomain cannot plant one. (The
 * prefix needs `Secure`, hence the plain name over HTTP.)
 */
export const SIGN_IN_COOKIE = 'example_signin';
const cookieName = (secure: boolean) => (secure ? `__Host-${SIGN_IN_COOKIE}` : SIGN_IN_COOKIE);

const NONCE = /^[A-Za-z0-9_-]{43}$/;
const FORM_TOKEN = /^([0-9]{1,15})\.([A-Za-z0-9_-]{43})$/;

export interface SignInCsrfOptions {
  /** Clock in ms; the app passes the token service's, as for sessions. */
  now?: () => number;
  /** How long a sign-in form stays good (ms). Default 30 minutes. */
  lifetime?: number;
  /**
   * The HMAC key. Default: 32 random bytes made at start, so a restart voids the forms shown before it.
   * Processes behind one load balancer must share it.
   */
  key?: Buffer;
}

/**
 * The sign-in form's CSRF token, kept by nobody: anyone can load the form, so loading it must not cost the
 * server a slot that a flood of loads could fill (and so evict the form of a visitor about to sign in).
 *
 * A signed double-submit: the browser holds a random nonce in an HttpOnly, SameSite=Strict cookie; the form
 * carries `<expiry>.<HMAC(key, nonce, expiry)>`. A sign-in counts only with both, matching and unexpired.
 * Another site can make a browser post the form but cannot read the page for the token, nor send the cookie
 * (Strict), nor pair a token it got for its own cookie with the victim's: so it cannot sign a visitor in to
 * an account of its own (login CSRF).
 */
export class SignInCsrf {
  readonly #now: () => number;
  readonly #lifetime: number;
  readonly #key: Buffer;

  constructor(options: SignInCsrfOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#lifetime = options.lifetime ?? 30 * 60_000;
    this.#key = options.key ?? randomBytes(32);
  }

  /**
   * A form token for this browser: bound to its sign-in cookie when it has one (so two open tabs both
   * work), to a new one set here otherwise. The cookie's life is renewed with the token's.
   */
  issue(req: Request, res: Response): string {
    const presented = this.#nonceOf(req);
    const nonce = presented ?? randomBytes(32).toString('base64url');
    res.append(
      'Set-Cookie',
      sessionCookie(cookieName(req.secure), nonce, {
        maxAge: Math.floor(this.#lifetime / 1000),
        secure: req.secure,
        sameSite: 'Strict',
      }),
    );
    const expiresAt = this.#now() + this.#lifetime;
    return `${expiresAt}.${this.#mac(nonce, expiresAt)}`;
  }

  /** Whether the posted form token was issued for this browser's sign-in cookie and has not expired. */
  verify(req: Request, presented: unknown): boolean {
    const nonce = this.#nonceOf(req);
    if (nonce === null || typeof presented !== 'string') return false;
    const parts = FORM_TOKEN.exec(presented);
    if (!parts) return false;
    const expiresAt = Number(parts[1]);
    if (expiresAt <= this.#now()) return false;
    // Compared as text: decoding first would let the spare bits of the last base64url character vary.
    const actual = Buffer.from(parts[2]!);
    const expected = Buffer.from(this.#mac(nonce, expiresAt));
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  /** Deletes the sign-in cookie: once signed in, the session's own CSRF token takes over. */
  clear(req: Request, res: Response): void {
    res.append(
      'Set-Cookie',
      sessionCookie(cookieName(req.secure), '', { maxAge: 0, secure: req.secure, sameSite: 'Strict' }),
    );
  }

  #nonceOf(req: Request): string | null {
    const nonce = parseCookies(req.headers.cookie).get(cookieName(req.secure));
    return nonce !== undefined && NONCE.test(nonce) ? nonce : null;
  }

  #mac(nonce: string, expiresAt: number): string {
    return createHmac('sha256', this.#key).update(`sign-in\0${nonce}\0${expiresAt}`).digest('base64url');
  }
}
