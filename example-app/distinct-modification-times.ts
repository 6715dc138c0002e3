import { createHash } from 'node:crypto';
import { type BigIntStats, statSync, utimesSync } from 'node:fs';

const NS_PER_MS = 1_000_000n;
// How far a modification time may be moved ahead to tell two writes apart: a millisecond first, then a whole
// second for file systems that keep only seconds.
const STEPS_NS = [NS_PER_MS, 1_000n * NS_PER_MS];
// A file's last write is remembered only while the disk's clock could still give a new write the same time
// (it ticks every few milliseconds): then its entry goes.
const REMEMBERED_NS = 10_000n * NS_PER_MS;

/**
 * The strong entity tag of a file or folder (RFC 9110 8.8.3): its inode, size and modification time in
 * nanoseconds, hashed (so that no inode number goes out). DistinctModificationTimes makes that time change
 * with every write of the app's, which makes the tag change with the content.
 */
export function entityTagOf(stats: BigIntStats): string {
  const identity = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}`;
  return `"${createHash('sha256').update(identity).digest('hex').slice(0, 32)}"`;
}

/** Called from webdav-server's callbacks, where a throw would end the process: a missing file is undefined. */
function statIfThere(realPath: string): BigIntStats | undefined {
  try {
    return statSync(realPath, { bigint: true });
  } catch {
    return undefined;
  }
}

const inodeOf = (stats: BigIntStats) => `${stats.dev}:${stats.ino}`;

/**
 * Keeps a file's modification time, and so its entity tag, from repeating across writes. The disk's clock
 * ticks every few milliseconds, so two saves of the same size within one tick would leave the same size and
 * time, and a client holding the first one's tag could overwrite the second (If-Match would hold). After each
 * write, a time not later than the file's previous one is moved just past it.
 */
export class DistinctModificationTimes {
  /** The latest modification time seen per inode (`dev:ino`), in nanoseconds. */
  private readonly latest = new Map<string, bigint>();

  /** Notes the time of a file about to be written (it may come from before the app started). */
  beforeWrite(realPath: string): void {
    const stats = statIfThere(realPath);
    if (stats) this.remember(stats);
  }

  /**
   * Moves the time of a file just written past every earlier one of that file. Synchronous, so that no other
   * write's check interleaves; a file already gone again is left alone.
   */
  afterWrite(realPath: string): void {
    let stats = statIfThere(realPath);
    if (!stats) return;
    const previous = this.latest.get(inodeOf(stats));
    for (const step of STEPS_NS) {
      if (previous === undefined || stats.mtimeNs > previous) break;
      const seconds = (ns: bigint) => Number(ns) / 1e9;
      try {
        utimesSync(realPath, seconds(stats.atimeNs), seconds(previous + step));
      } catch {
        return; // gone meanwhile
      }
      stats = statIfThere(realPath);
      if (!stats) return;
    }
    this.remember(stats);
    for (const [inode, time] of this.latest) {
      if (time < stats.mtimeNs - REMEMBERED_NS) this.latest.delete(inode);
    }
  }

  private remember(stats: BigIntStats): void {
    const inode = inodeOf(stats);
    const known = this.latest.get(inode);
    if (known === undefined || stats.mtimeNs > known) this.latest.set(inode, stats.mtimeNs);
  }
}
