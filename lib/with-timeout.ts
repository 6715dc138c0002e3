import { StoreUnavailableError } from './errors';

/**
 * Runs one store call with a deadline. Whatever the client's own settings, an authentication
 * decision waits at most `ms`; a late or failed call becomes `StoreUnavailableError` (a 503).
 */
export function withTimeout<T>(ms: number, operation: string, call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new StoreUnavailableError(`Token store did not answer ${operation} within ${ms} ms`));
    }, ms);
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(
          error instanceof StoreUnavailableError
            ? error
            : new StoreUnavailableError(`Token store failed during ${operation}: ${describe(error)}`, {
                cause: error,
              }),
        );
      },
    );
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
