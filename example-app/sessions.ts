import { randomBytes } from 'node:crypto';

/**
 * A browser session of the settings page: who signed in (null before sign-in, while the sign-in form is
 * shown) and the CSRF token that every state-changing request of that session must carry.
 */
export interface Session {
  /** Random, 256 bits: the cookie value. */
  readonly id: string;
  /** The signed-in login, or null for the anonymous session that carries the sign-in form's CSRF token. */
  readonly login: string | null;
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
  /** The most sessions kept; past it the least recently created go first. Default 10000. */
  maxSessions?: number;
}

const randomId = () => randomBytes(32).toString('base64url');

/**
 * Sessions in memory, as a demo can: nothing survives a restart, one process only. The map is bounded, so
 * that anonymous visits to the sign-in page cannot grow it without limit.
 */
export class SessionStore {
  readonly idleTimeout: number;
  readonly #sessions = new Map<string, Session>();
  readonly #now: () => number;
  readonly #maxSessions: number;

  constructor(options: SessionStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.idleTimeout = options.idleTimeout ?? 8 * 3_600_000;
    this.#maxSessions = options.maxSessions ?? 10_000;
  }

  /** A new session with a fresh id and CSRF token. Signing in always makes a new one (no session fixation). */
  create(login: string | null): Session {
    if (this.#sessions.size >= this.#maxSessions) this.#evict();
    const session: Session = {
      id: randomId(),
      login,
      csrfToken: randomId(),
      expiresAt: this.#now() + this.idleTimeout,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, its idle deadline pushed forward; null if none or expired. */
  get(id: string | undefined): Session | null {
    if (id === undefined) return null;
    const session = this.#sessions.get(id);
    if (!session) return null;
    const now = this.#now();
    if (session.expiresAt <= now) {
      this.#sessions.delete(id);
      return null;
    }
    session.expiresAt = now + this.idleTimeout;
    return session;
  }

  destroy(id: string): void {
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  #evict(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions) if (session.expiresAt <= now) this.#sessions.delete(id);
    // Still full: drop the oldest (a Map iterates in insertion order).
    for (const id of this.#sessions.keys()) {
      if (this.#sessions.size < this.#maxSessions) break;
      this.#sessions.delete(id);
    }
  }
}
