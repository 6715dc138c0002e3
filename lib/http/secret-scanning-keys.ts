import { createPublicKey, type KeyObject } from 'node:crypto';

/** One key of GitHub's list (`GET https://api.github.com/meta/public_keys/secret_scanning`). */
export interface SecretScanningPublicKey {
  key_identifier: string;
  /** The public key, PEM. */
  key: string;
  is_current?: boolean;
}

/**
 * The keys that may sign alerts: identifier → PEM, as an object or a Map; or a function that
 * fetches GitHub's key list (the whole answer, `{ public_keys: SecretScanningPublicKey[] }`, or its
 * array), called when the keys are stale or an alert names a key not among them, at most once per
 * `refetchInterval`.
 */
export type SecretScanningPublicKeys =
  | Readonly<Record<string, string>>
  | ReadonlyMap<string, string>
  /**
   * Resolves to GitHub's answer as fetched, unchecked (`await (await fetch(url)).json()`): the
   * entries that are no P-256 key are left out, and a list without one counts as a failed fetch.
   */
  | (() => Promise<unknown>);

/** What looking a key up found: the key, no such key, or no list to look in (the fetch failed). */
export type KeyLookup = { key: KeyObject } | { unknown: true } | { unavailable: true };

const UNKNOWN: KeyLookup = { unknown: true };
const UNAVAILABLE: KeyLookup = { unavailable: true };

/** The longest key identifier looked up (GitHub's are 64 hex digits). */
export const MAX_KEY_IDENTIFIER = 256;

/**
 * The keys alerts are verified with. A fixed map is parsed once. A fetched list is kept for
 * `ttl`; an identifier not in it makes it fetch again, but never more than once per
 * `refetchInterval` (however many alerts name unknown keys, and however many come at once: they
 * share one fetch), so that nobody can make this process ask GitHub once per request. When a
 * fetch fails the keys fetched before stay in use; an identifier not among them is then
 * `unavailable` (a 503: GitHub sends again) rather than `unknown`. A fetch that takes longer than
 * `fetchTimeout` counts as failed.
 */
export class SecretScanningKeys {
  readonly #fetch: (() => Promise<unknown>) | undefined;
  readonly #now: () => number;
  readonly #ttl: number;
  readonly #refetchInterval: number;
  readonly #fetchTimeout: number;
  #keys = new Map<string, KeyObject>();
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #lastFetchFailed = false;
  #fetching: Promise<void> | undefined;

  constructor(
    keys: SecretScanningPublicKeys,
    options: { now: () => number; ttl: number; refetchInterval: number; fetchTimeout: number },
  ) {
    this.#now = options.now;
    this.#ttl = options.ttl;
    this.#refetchInterval = options.refetchInterval;
    this.#fetchTimeout = options.fetchTimeout;
    if (typeof keys === 'function') {
      this.#fetch = keys;
      return;
    }
    if (typeof keys !== 'object' || keys === null) {
      throw new TypeError(
        'secretScanningReceiver: publicKeys must map key identifiers to PEM keys, or be a function',
      );
    }
    const entries = keys instanceof Map ? [...keys] : Object.entries(keys);
    for (const [id, pem] of entries) {
      const key = typeof id === 'string' && id.length > 0 ? p256Key(pem) : undefined;
      if (!key) {
        throw new TypeError(
          `secretScanningReceiver: publicKeys ${JSON.stringify(String(id).slice(0, 80))} is no ECDSA P-256 public key (PEM)`,
        );
      }
      this.#keys.set(id, key);
    }
    if (this.#keys.size === 0) throw new TypeError('secretScanningReceiver: publicKeys names no key');
  }

  /** The key named `id`, fetching the list first when it is stale or lacks `id` (as the interval allows). */
  async lookup(id: string): Promise<KeyLookup> {
    if (!this.#fetch) return this.#found(id) ?? UNKNOWN;
    const stale = this.#now() - this.#fetchedAt >= this.#ttl;
    if (stale || !this.#keys.has(id)) await this.#refresh();
    return this.#found(id) ?? (this.#lastFetchFailed ? UNAVAILABLE : UNKNOWN);
  }

  #found(id: string): KeyLookup | undefined {
    const key = this.#keys.get(id);
    return key ? { key } : undefined;
  }

  /** Fetches the list unless one was fetched (or tried) within `refetchInterval`; one fetch at a time. */
  #refresh(): Promise<void> {
    if (this.#fetching) return this.#fetching;
    if (this.#now() - this.#fetchedAt < this.#refetchInterval) return Promise.resolve();
    // Counted from the attempt, not its success: a list that fails to come is not asked for again at once.
    this.#fetchedAt = this.#now();
    this.#fetching = withinTime(this.#fetchTimeout, () => this.#fetch!())
      .then((answer) => {
        const keys = keyList(answer);
        // A list without one usable key is a failed fetch: the keys before it stay.
        if (keys.size === 0) throw new Error('no usable key in the list');
        this.#keys = keys;
        this.#lastFetchFailed = false;
      })
      .catch(() => {
        this.#lastFetchFailed = true;
      })
      .finally(() => {
        this.#fetching = undefined;
      });
    return this.#fetching;
  }
}

/**
 * What `fetch` resolves to, or a rejection once `ms` have passed: every alert that needs the list
 * waits for the one fetch in flight, so a fetch that never answers (a connection that hangs) must
 * not hold them for ever. The timer does not keep the process alive.
 */
function withinTime<T>(ms: number, fetch: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no key list within ${ms} ms`)), ms).unref();
    Promise.resolve()
      .then(fetch)
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}

/** The P-256 keys of a fetched list; entries that are not one are left out. */
function keyList(answer: unknown): Map<string, KeyObject> {
  const list = Array.isArray(answer) ? answer : (answer as { public_keys?: unknown } | null)?.public_keys;
  const keys = new Map<string, KeyObject>();
  if (!Array.isArray(list)) return keys;
  for (const entry of list as unknown[]) {
    const { key_identifier: id, key: pem } = (entry ?? {}) as Partial<SecretScanningPublicKey>;
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_KEY_IDENTIFIER) continue;
    const key = p256Key(pem);
    if (key) keys.set(id, key);
  }
  return keys;
}

/** The key if `pem` is an ECDSA P-256 public key, else undefined: nothing weaker verifies an alert. */
function p256Key(pem: unknown): KeyObject | undefined {
  if (typeof pem !== 'string') return undefined;
  try {
    const key = createPublicKey(pem);
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return key.asymmetricKeyType === 'ec' && curve === 'prime256v1' ? key : undefined;
  } catch {
    return undefined;
  }
}
