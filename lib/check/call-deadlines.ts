import { StoreUnavailableError } from '../errors';

/**
 * Puts a deadline on store calls: whatever the client's own settings, an authentication decision
 * waits at most `ms`; a late or failed call becomes `StoreUnavailableError` (a 503).
 */
export class CallDeadlines {
  readonly ms: number;

  constructor(ms: number) {
    this.ms = ms;
  }

  /** Runs a store call under the deadline: its value, or `StoreUnavailableError` if it failed, threw or was late. */
  run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // unref: a deadline must never be what keeps a process alive (a script that issued its token,
      // or a server that closed, exits when its work is done); a call in flight holds the loop open
      // by its own socket, the timer only watches it.
      const timer = setTimeout(
        () =>
          reject(new StoreUnavailableError(`Token store did not answer ${operation} within ${this.ms} ms`)),
        this.ms,
      ).unref();
      let result: Promise<T>;
      try {
        result = call();
      } catch (error) {
        result = Promise.reject(error);
      }
      // Whichever settles the promise first wins; an answer after the deadline is dropped.
      result.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(storeFailure(operation, error));
        },
      );
    });
  }
}

/** A store's failure as the caller sees it: `StoreUnavailableError`, the original as its cause. */
export function storeFailure(operation: string, error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`Token store failed during ${operation}: ${message}`, { cause: error });
}
