/**
 * Runs tasks that share a key one after another, in the order they came, and tasks of different keys
 * independently. A task calls the `done` it is given when it has finished (a second call does nothing).
 */
export class SerialByKey {
  // Per busy key, the tasks waiting behind the running one; a key with nothing running is absent.
  readonly #waiting = new Map<string, (() => void)[]>();

  run(key: string, task: (done: () => void) => void): void {
    const start = () => {
      let finished = false;
      task(() => {
        if (finished) return;
        finished = true;
        this.#startNext(key);
      });
    };
    const waiting = this.#waiting.get(key);
    if (waiting) waiting.push(start);
    else {
      this.#waiting.set(key, []);
      start();
    }
  }

  #startNext(key: string): void {
    const next = this.#waiting.get(key)?.shift();
    if (!next) return void this.#waiting.delete(key);
    // Not from inside the finished task's own call stack: a long queue of quick tasks never nests deep.
    setImmediate(next);
  }
}
