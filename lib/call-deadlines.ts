import { performance } from 'node:perf_hooks';
import { StoreUnavailableError } from './errors';

/** A call in flight, as `start` returns it. */
export interface Pending {
  deadline: number;
  operation: string;
  settled: boolean;
  onLate: ((error: StoreUnavailableError) => void) | undefined;
}

/**
 * Puts a deadline on store calls: whatever the client's own settings, an authentication decision
 * waits at most `ms`; a late or failed call becomes `StoreUnavailableError` (a 503).
 *
 * Every call of one service has the same timeout, so deadlines come in the order calls start: one
 * timer for the oldest pending deadline serves them all, instead of a timer set and cleared on
 * every request. Finished calls leave the front of the queue at once, so that the queue holds only
 * calls in flight and nothing lives long enough to burden the garbage collector.
 */
export class CallDeadlines {
  readonly ms: number;
  #queue: Pending[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.ms = ms;
  }

  /**
   * The deadline alone: `onLate` gets the error if `finish(pending)` is not called within it.
   * (`call` and `run` are built on this.)
   */
  start(operation: string, onLate: (error: StoreUnavailableError) => void): Pending {
    const pending: Pending = { deadline: performance.now() + this.ms, operation, settled: false, onLate };
    this.#queue.push(pending);
    this.#timer ??= unrefTimer(() => this.#expire(), this.ms);
    return pending;
  }

  /** Marks a call answered. False if it was too late: its `onLate` has already run. */
  finish(pending: Pending): boolean {
    if (pending.settled) return false;
    this.#settle(pending);
    return true;
  }

  /**
   * Runs a store call under the deadline, answering through callbacks: `done` with its value, or
   * `fail` with a `StoreUnavailableError` (the call failed, threw, or was too late), once.
   */
  call<T>(
    operation: string,
    call: () => Promise<T>,
    done: (value: T) => void,
    fail: (error: StoreUnavailableError) => void,
  ): void {
    const pending = this.start(operation, fail);
    let result: Promise<T>;
    try {
      result = call();
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value) => {
        if (this.finish(pending)) done(value);
      },
      (error: unknown) => {
        if (this.finish(pending)) fail(storeFailure(operation, error));
      },
    );
  }

  /** `call` as a promise. */
  run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.call(operation, call, resolve, reject));
  }

  #settle(pending: Pending): void {
    pending.settled = true;
    pending.onLate = undefined;
    const queue = this.#queue;
    while (this.#head < queue.length && queue[this.#head]!.settled) this.#head++;
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    const queue = this.#queue;
    while (this.#head < queue.length && queue[this.#head]!.deadline <= now) {
      const pending = queue[this.#head++]!;
      if (pending.settled) continue;
      const onLate = pending.onLate!;
      pending.settled = true;
      pending.onLate = undefined;
      onLate(
        new StoreUnavailableError(`Token store did not answer ${pending.operation} within ${this.ms} ms`),
      );
    }
    if (this.#head === queue.length) {
      queue.length = 0;
      this.#head = 0;
      return;
    }
    if (this.#head > 1024) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
    // Run again when the oldest call still pending reaches its deadline.
    this.#timer = unrefTimer(() => this.#expire(), Math.max(1, this.#queue[this.#head]!.deadline - now));
  }
}

/**
 * A deadline must never be what keeps a process alive: a script that issued its token, or a server
 * that closed, exits when its work is done. A call still in flight holds the loop open by its own
 * socket; the timer only watches it.
 */
function unrefTimer(run: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(run, ms).unref();
}

/** A store's failure as the caller sees it: `StoreUnavailableError`, the original as its cause. */
export function storeFailure(operation: string, error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`Token store failed during ${operation}: ${message}`, { cause: error });
}
