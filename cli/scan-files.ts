import { isUtf8 } from 'node:buffer';
import { execFile } from 'node:child_process';
import {
  closeSync,
  constants,
  type Dirent,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { UNTRUSTED_TREE_GIT } from './scan-git';

/**
 * Which files a folder holds for `scan`, and reading them. Inside a git work tree, the files git
 * itself would consider (tracked or untracked, not ignored: `git ls-files --cached --others
 * --exclude-standard`), so `.gitignore` counts exactly as git reads it; elsewhere every file below,
 * `.git/` left out. Symbolic links are not followed in either case: a link to a file in the tree is
 * scanned as that file, and one out of the tree leads to what the user did not ask to scan.
 */

/** A file that could not be read or listed, and why. */
export interface Unreadable {
  path: string;
  reason: string;
}

/** The regular files under `folder` (relative to `cwd`, or absolute), as paths joined to it. */
export async function filesIn(
  folder: string,
  cwd: string,
  seen: Set<string> = new Set(),
): Promise<{ files: string[]; unreadable: Unreadable[] }> {
  // A folder listed as a whole (a nested repository, a submodule) is listed again from inside it; one
  // that lists itself (an empty submodule lists "./") is not gone into twice.
  seen.add(resolve(cwd, folder));
  const listed = await gitListedFiles(resolve(cwd, folder));
  if (listed !== undefined) {
    const files: string[] = [];
    // A name that is not UTF-8 cannot be told to open() through a string: said, never passed over.
    const unreadable: Unreadable[] = listed.notUtf8.map((name) => ({
      path: join(folder, name),
      reason: 'the file name is not UTF-8',
    }));
    for (const name of listed.names) {
      const path = join(folder, name);
      const kind = kindOf(resolve(cwd, path));
      if (kind === 'file') files.push(path);
      // A submodule or a nested repository: its own work tree, with its own ignore rules.
      else if (kind === 'folder' && !seen.has(resolve(cwd, path))) {
        const inner = await filesIn(path, cwd, seen);
        files.push(...inner.files);
        unreadable.push(...inner.unreadable);
      }
      // Anything else: a tracked file deleted from the work tree, a symbolic link, a socket.
    }
    return { files, unreadable };
  }
  const files: string[] = [];
  const unreadable: Unreadable[] = [];
  walk(folder, cwd, files, unreadable);
  return { files, unreadable };
}

function kindOf(path: string): 'file' | 'folder' | 'other' {
  try {
    const stats = lstatSync(path);
    return stats.isFile() ? 'file' : stats.isDirectory() ? 'folder' : 'other';
  } catch {
    return 'other';
  }
}

function walk(folder: string, cwd: string, files: string[], unreadable: Unreadable[]): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(resolve(cwd, folder), { withFileTypes: true });
  } catch (error) {
    unreadable.push({ path: folder, reason: reasonOf(error) });
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '.git') walk(path, cwd, files, unreadable);
    } else if (entry.isFile()) {
      files.push(path);
    }
  }
}

/**
 * The files git lists in `folder` (relative to it), those whose name is not UTF-8 apart (shown with
 * U+FFFD for what is not), or undefined when it is not in a work tree.
 */
function gitListedFiles(folder: string): Promise<{ names: string[]; notUtf8: string[] } | undefined> {
  return new Promise((resolve) => {
    execFile(
      'git',
      [...UNTRUSTED_TREE_GIT, 'ls-files', '--cached', '--others', '--exclude-standard', '-z'],
      { cwd: folder, encoding: 'buffer', maxBuffer: 1 << 30 },
      (error, stdout) => {
        // Not in a work tree, inside .git, or git not installed: walk the folder instead.
        if (error !== null) return resolve(undefined);
        const names = new Set<string>();
        const notUtf8 = new Set<string>();
        for (
          let start = 0, end = stdout.indexOf(0);
          end !== -1;
          start = end + 1, end = stdout.indexOf(0, start)
        ) {
          const name = stdout.subarray(start, end);
          (isUtf8(name) ? names : notUtf8).add(name.toString('utf8'));
        }
        // Sets: the index lists a file once per conflict stage.
        resolve({ names: [...names], notUtf8: [...notUtf8] });
      },
    );
  });
}

export function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

const CHUNK_SIZE = 1 << 20;
let chunk: Buffer | undefined;

/**
 * Reads a file chunk by chunk into one reused buffer, handing each piece to `take` (which must not
 * keep it). Synchronous: a scan reads one file after another, and a pre-commit hook wants it quick.
 * Anything but a regular file throws, unread.
 */
export function readFileInChunks(path: string, take: (piece: Buffer) => void): void {
  chunk ??= Buffer.allocUnsafe(CHUNK_SIZE);
  // Opened without blocking and then looked at, so that what is read is what was checked: a FIFO
  // would block the open until a writer comes, a device such as /dev/zero never ends, and a file
  // listed as regular may have been swapped for either since.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Error('not a regular file');
    for (
      let read = readSync(fd, chunk, 0, CHUNK_SIZE, null);
      read > 0;
      read = readSync(fd, chunk, 0, CHUNK_SIZE, null)
    ) {
      take(chunk.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
}
