// Bookkeeping for every process the benchmark starts (redis-server, the six servers, the load
// generator) and every temp dir it makes (one holds the seeded tokens): whatever happens to the
// harness (an error, Ctrl-C), no process outlives it and no token file stays behind.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

export function removeOnExit(dir: string): string {
  dirs.add(dir);
  return dir;
}

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function killAll(): void {
  for (const child of live) {
    if (child.pid === undefined) continue;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // A handler replaces Node's default exit, so re-raise the signal once the children are gone.
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}
