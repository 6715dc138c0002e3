import { randomUUID } from 'node:crypto';
import { isSameOrBelow } from './node-tree';

/** One WebDAV write lock (RFC 4918 6, 7). */
export interface DavLock {
  /** The lock token, `urn:uuid:…`: what a client submits in `If` or `Lock-Token`. */
  token: string;
  /** The node path the lock was taken on. */
  root: string;
  depth: '0' | 'infinity';
  scope: 'exclusive' | 'shared';
  /** The login that took it: only this login's requests may use the token. */
  login: string;
  /** The `DAV:owner` the client sent, as XML text, shown back in lockdiscovery. */
  ownerXml: string;
  timeoutSeconds: number;
  expiresAt: number;
}

/** The lock time a client gets without asking (`Timeout` absent) and the most it can get. */
export const DEFAULT_LOCK_SECONDS = 600;
export const MAX_LOCK_SECONDS = 3600;
/** The most locks one login may hold at once: each is kept in memory until it ends. */
export const MAX_LOCKS_PER_LOGIN = 256;

/**
 * The lock time a `Timeout` header asks for (RFC 4918 10.7: `Second-N` or `Infinite`, the first one this
 * server can give), held to MAX_LOCK_SECONDS so that a lock whose holder went away (a revoked token, a laptop
 * closed) ends on its own.
 */
export function lockSeconds(header: string | undefined): number {
  for (const entry of (header ?? '').split(',')) {
    const value = entry.trim();
    if (/^infinite$/i.test(value)) return MAX_LOCK_SECONDS;
    const seconds = /^second-(\d{1,12})$/i.exec(value);
    if (seconds) return Math.max(1, Math.min(Number(seconds[1]), MAX_LOCK_SECONDS));
  }
  return DEFAULT_LOCK_SECONDS;
}

/** Whether a lock applies to the node at path: taken on it, or with depth infinity on a folder above it. */
export const lockCovers = (lock: DavLock, path: string) =>
  lock.root === path || (lock.depth === 'infinity' && isSameOrBelow(path, lock.root));

/**
 * The locks of a WebDAV share, in memory, on an injectable clock. An expired lock is gone: every read drops
 * the locks whose time is up before it answers.
 */
export class DavLockTable {
  readonly #locks = new Map<string, DavLock>();
  readonly #now: () => number;

  constructor({ now = Date.now }: { now?: () => number } = {}) {
    this.#now = now;
  }

  /** The live lock with this token, if any. */
  get(token: string): DavLock | undefined {
    this.#dropExpired();
    return this.#locks.get(token);
  }

  /** The live locks that apply to the node at path. */
  covering(path: string): DavLock[] {
    this.#dropExpired();
    return [...this.#locks.values()].filter((lock) => lockCovers(lock, path));
  }

  /** The live locks that apply to the node at path or to anything below it. */
  coveringOrBelow(path: string): DavLock[] {
    this.#dropExpired();
    return [...this.#locks.values()].filter(
      (lock) => lockCovers(lock, path) || isSameOrBelow(lock.root, path),
    );
  }

  /**
   * Takes a lock, or returns why not: `conflict` if a lock already there forbids it (an exclusive lock
   * conflicts with every other lock on the same nodes, a shared one with exclusive ones), `too_many` if the
   * login holds MAX_LOCKS_PER_LOGIN already.
   */
  lock(request: Omit<DavLock, 'token' | 'expiresAt'>): DavLock | 'conflict' | 'too_many' {
    const overlapping =
      request.depth === 'infinity' ? this.coveringOrBelow(request.root) : this.covering(request.root);
    if (overlapping.some((lock) => lock.scope === 'exclusive' || request.scope === 'exclusive')) {
      return 'conflict';
    }
    const held = [...this.#locks.values()].filter((lock) => lock.login === request.login).length;
    if (held >= MAX_LOCKS_PER_LOGIN) return 'too_many';
    const lock: DavLock = {
      ...request,
      token: `urn:uuid:${randomUUID()}`,
      expiresAt: this.#now() + request.timeoutSeconds * 1000,
    };
    this.#locks.set(lock.token, lock);
    return lock;
  }

  /** Gives a live lock a new timeout, counted from now. */
  refresh(lock: DavLock, timeoutSeconds: number): DavLock {
    lock.timeoutSeconds = timeoutSeconds;
    lock.expiresAt = this.#now() + timeoutSeconds * 1000;
    return lock;
  }

  unlock(token: string): void {
    this.#locks.delete(token);
  }

  /** Ends the locks taken on the node at path and below it: the nodes were deleted or moved away. */
  forgetBelow(path: string): void {
    for (const lock of this.#locks.values()) {
      if (isSameOrBelow(lock.root, path)) this.#locks.delete(lock.token);
    }
  }

  /** Seconds left of a lock, for lockdiscovery. */
  secondsLeft(lock: DavLock): number {
    return Math.max(0, Math.ceil((lock.expiresAt - this.#now()) / 1000));
  }

  #dropExpired(): void {
    const now = this.#now();
    for (const lock of this.#locks.values()) if (lock.expiresAt <= now) this.#locks.delete(lock.token);
  }
}
