// Records when this process could not run (event-loop stalls: CPU starvation on a busy CI machine,
// long GC pauses). A latency bound on answers measured in-process is only fair net of the time the
// process itself was not running: nothing, neither the library nor the test's HTTP client, could
// make progress then.

export interface StallWatch {
  /** Total stalled time overlapping [start, end] (performance.now() values), in ms. */
  stalledDuring(start: number, end: number): number;
  /** The longest single stall seen, in ms. */
  readonly longest: number;
  stop(): void;
}

export function watchStalls(intervalMs = 10, thresholdMs = 5): StallWatch {
  // Each stall is the span [from, to] in which a timer due at `from` could not run.
  const stalls: Array<{ from: number; to: number }> = [];
  let due = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - due > thresholdMs) stalls.push({ from: due, to: now });
    due = now + intervalMs;
  }, intervalMs);
  return {
    stalledDuring(start, end) {
      let total = 0;
      for (const stall of stalls) total += Math.max(0, Math.min(end, stall.to) - Math.max(start, stall.from));
      return total;
    },
    get longest() {
      return stalls.reduce((longest, stall) => Math.max(longest, stall.to - stall.from), 0);
    },
    stop: () => clearInterval(timer),
  };
}
