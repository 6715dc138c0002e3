import { randomBytes } from 'node:crypto';

/**
 * A signed-in browser session of the settings page: who signed in, and the CSRF token that every
 * state-changing request of that session must carry. (Before sign-in there is no session: the sign-in form's
 * CSRF token is kept by nobody, see sign-in-csrf.ts.)
 */
export interface Session {
  /** Random, 256 bits: the cookie value. */
  readonly id: string;
  readonly login: string;
  /** The synchronizer token: in the page, never in a cookie, so another site cannot know it. */
  readonly csrfToken: string;
  /** Idle deadline (ms), pushed forward on each use. */
  expiresAt: number;
}

export interface SessionStoreOptions {
  /** Clock in ms; the app passes the token service's, so tests move both with one clock. */
  now?: () => number;
  /** A session unused this long (ms) is gone. Default 8 hours. */
  idleTimeout?: number;
  /** The most sessions one login keeps; past it that login's least recently created goes. Default 10. */
  maxSessionsPerLogin?: number;
}

const randomId = () => randomBytes(32).toString('base64url');

/**
 * Sessions in memory, as a demo can: nothing survives a restart, one process only. Only a correct password
 * makes one, and each login keeps at most `maxSessionsPerLogin`: memory is bounded by the users there are,
 * and signing in again and again evicts only that login's own sessions, never anybody else's. Every step is
 * O(1) in the number of sessions.
 */
export class SessionStore {
  readonly idleTimeout: number;
  readonly #now: () => number;
  readonly #maxPerLogin: number;
  readonly #byId = new Map<string, Session>();
  /** Each login's session ids, oldest first (a Set iterates in insertion order). */
  readonly #idsByLogin = new Map<string, Set<string>>();

  constructor(options: SessionStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.idleTimeout = options.idleTimeout ?? 8 * 3_600_000;
    this.#maxPerLogin = options.maxSessionsPerLogin ?? 10;
  }

  /** A new session with a fresh id and CSRF token. Signing in always makes a new one (no session fixation). */
  create(login: string): Session {
    const ids = this.#idsByLogin.get(login) ?? new Set<string>();
    for (const id of ids) {
      if (ids.size < this.#maxPerLogin) break;
      this.destroy(id);
    }
    const session: Session = {
      id: randomId(),
      login,
      csrfToken: randomId(),
      expiresAt: this.#now() + this.idleTimeout,
    };
    this.#byId.set(session.id, session);
    ids.add(session.id);
    this.#idsByLogin.set(login, ids); // after the evictions, which drop a login's emptied set
    return session;
  }

  /** The live session with this id, its idle deadline pushed forward; null if none or expired. */
  get(id: string | undefined): Session | null {
    if (id === undefined) return null;
    const session = this.#byId.get(id);
    if (!session) return null;
    const now = this.#now();
    if (session.expiresAt <= now) {
      this.destroy(id);
      return null;
    }
    session.expiresAt = now + this.idleTimeout;
    return session;
  }

  destroy(id: string): void {
    const session = this.#byId.get(id);
    if (!session) return;
    this.#byId.delete(id);
    const ids = this.#idsByLogin.get(session.login);
    ids?.delete(id);
    if (ids?.size === 0) this.#idsByLogin.delete(session.login);
  }

  /** Sessions kept. */
  get size(): number {
    return this.#byId.size;
  }
}
