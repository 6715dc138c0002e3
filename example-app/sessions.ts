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
  /** The most signed-in sessions kept; past it the least recently created go first. Default 10000. */
  maxSessions?: number;
  /**
   * The most anonymous sessions (sign-in form only) kept, in a pool of their own; past it the least recently
   * created anonymous ones go first. Default 2000.
   */
  maxAnonymousSessions?: number;
}

const randomId = () => randomBytes(32).toString('base64url');

/** Sessions of one kind, at most `max` of them: a new one past that evicts the expired, then the oldest. */
class SessionPool {
  readonly sessions = new Map<string, Session>();

  constructor(
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  add(session: Session): void {
    if (this.sessions.size >= this.max) this.#evict();
    this.sessions.set(session.id, session);
  }

  #evict(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
    // Still full: drop the oldest (a Map iterates in insertion order).
    for (const id of this.sessions.keys()) {
      if (this.sessions.size < this.max) break;
      this.sessions.delete(id);
    }
  }
}

/**
 * Sessions in memory, as a demo can: nothing survives a restart, one process only. Both pools are bounded.
 * Anyone can make an anonymous session by loading the sign-in page, so those live apart from the signed-in
 * ones: a flood of sign-in page loads evicts only other anonymous sessions, never signs anybody out.
 */
export class SessionStore {
  readonly idleTimeout: number;
  readonly #now: () => number;
  readonly #signedIn: SessionPool;
  readonly #anonymous: SessionPool;

  constructor(options: SessionStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.idleTimeout = options.idleTimeout ?? 8 * 3_600_000;
    this.#signedIn = new SessionPool(options.maxSessions ?? 10_000, this.#now);
    this.#anonymous = new SessionPool(options.maxAnonymousSessions ?? 2_000, this.#now);
  }

  /** A new session with a fresh id and CSRF token. Signing in always makes a new one (no session fixation). */
  create(login: string | null): Session {
    const session: Session = {
      id: randomId(),
      login,
      csrfToken: randomId(),
      expiresAt: this.#now() + this.idleTimeout,
    };
    (login === null ? this.#anonymous : this.#signedIn).add(session);
    return session;
  }

  /** The live session with this id, its idle deadline pushed forward; null if none or expired. */
  get(id: string | undefined): Session | null {
    if (id === undefined) return null;
    const session = this.#signedIn.sessions.get(id) ?? this.#anonymous.sessions.get(id);
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
    this.#signedIn.sessions.delete(id);
    this.#anonymous.sessions.delete(id);
  }

  /** Sessions kept, signed-in and anonymous. */
  get size(): number {
    return this.#signedIn.sessions.size + this.#anonymous.sessions.size;
  }

  /** Anonymous sessions kept. */
  get anonymousSize(): number {
    return this.#anonymous.sessions.size;
  }
}
