// Bookkeeping for every process and temp dir the tests and the benchmark start (Redis servers,
// benchmarked servers, the load generator): whatever happens to the process that owns them (an
// error, a failed test, Ctrl-C), no child outlives it and no temp dir stays behind.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

/** Kills `child` (SIGKILL) if it is still running when this process ends. */
export function track<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Removes `dir` when this process ends, unless removeTempDir() removed it first. */
export function removeOnExit(dir: string): string {
  dirs.add(dir);
  return dir;
}

/** A fresh temp dir (pat-<label>-XXXXXX), removed when this process ends if removeTempDir() has not. */
export function ownedTempDir(label: string): string {
  return removeOnExit(mkdtempSync(join(tmpdir(), `pat-${label}-`)));
}

/** Removes `dir` now, and leaves nothing to do for it at exit. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** True once `child` has exited, false if it has not within `timeoutMs`. */
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

function cleanUp(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL'); // also ends a SIGSTOPped process
    } catch {}
  }
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // A signal handler replaces Node's default "exit at once", so re-raise the signal afterwards.
  process.once(signal, () => {
    cleanUp();
    process.kill(process.pid, signal);
  });
}
