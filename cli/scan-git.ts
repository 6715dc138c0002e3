import { spawn } from 'node:child_process';
import { CommandFailure, UsageError } from './errors';

/**
 * The lines that commits add, read from git's own diff: `git diff --cached` for what is staged,
 * `git log --all -p` for every commit. Arguments go to git as an array (no shell), file names are
 * read from git's quoted form, and binary files are diffed as text (`-a`), so that a token in one is
 * seen too.
 */

/** A line that a diff adds, numbered as in the new version of its file. */
export interface AddedLine {
  /** The commit that adds it (`--git-history`), or undefined for the index (`--git-staged`). */
  commit: string | undefined;
  /** The file's path from the top of the work tree, as git names it. */
  path: string;
  line: number;
  /** The line without its `+` or its newline. */
  bytes: Buffer;
}

// Every setting that changes the diff's form is given explicitly, so that no user config (color,
// prefixes, relative paths, external diff tools, textconv, signatures) can reshape what is parsed.
const DIFF_FORM = [
  '--patch',
  '--unified=0',
  '--inter-hunk-context=0',
  '--text',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--no-renames',
  '--no-relative',
  '--src-prefix=a/',
  '--dst-prefix=b/',
  '--submodule=short',
  '--diff-filter=d',
];
const GIT = ['-c', 'core.quotePath=true', '-c', 'diff.suppressBlankEmpty=false'];

/**
 * Given to every git the scan runs: the tree may be one nobody vouched for (an unpacked archive with
 * its `.git/`), and git runs the program a repository's own config names as `core.fsmonitor`
 * whenever it reads the index (`ls-files`, `diff --cached`); the command line outranks every file.
 * And the commits are read as they are: a replace ref (`git replace`) would show another commit in
 * the place of one that added a token, which the branch still holds and a push still sends.
 */
export const UNTRUSTED_TREE_GIT = ['--no-replace-objects', '-c', 'core.fsmonitor=false'];

/** The lines `git diff --cached` adds: what the next commit would bring. */
export function stagedAddedLines(cwd: string): AsyncGenerator<AddedLine> {
  return addedLines(cwd, [...GIT, 'diff', '--cached', ...DIFF_FORM]);
}

/**
 * The lines every commit adds, on every ref. A merge is diffed against its first parent, so that what
 * a merge itself brings (a conflict resolved by hand) is seen too; a token merged from a branch is
 * then reported at its own commit and at the merge.
 */
export function historyAddedLines(cwd: string): AsyncGenerator<AddedLine> {
  return addedLines(cwd, [
    ...GIT,
    'log',
    '--all',
    '--root',
    '--no-show-signature',
    '--diff-merges=first-parent',
    // A NUL cannot start any other line of the output outside a hunk: it marks a commit.
    '--format=%x00%H',
    ...DIFF_FORM,
  ]);
}

const COMMIT_MARK = 0x00;
const DIFF_HEADER = Buffer.from('diff --git ');
const HUNK_HEADER = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

async function* addedLines(cwd: string, args: string[]): AsyncGenerator<AddedLine> {
  // Outside a repository `git diff` would quietly compare files (--no-index) and fail on --cached.
  const probe = runGit(cwd, ['rev-parse', '--git-dir']);
  for await (const _ of probe.lines);
  await probe.done;
  const git = runGit(cwd, args);
  try {
    yield* parseDiff(git.lines);
    await git.done;
  } finally {
    // Stopped early (a failed revocation): git must not stay blocked on a pipe nobody reads.
    git.stop();
  }
}

async function* parseDiff(output: AsyncIterable<Buffer>): AsyncGenerator<AddedLine> {
  let commit: string | undefined;
  let path: string | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  let newLine = 0;
  for await (const line of output) {
    if (oldLeft > 0 || newLeft > 0) {
      const kind = line[0];
      if (kind === 0x2b /* + */) {
        newLeft--;
        if (path !== undefined) yield { commit, path, line: newLine, bytes: line.subarray(1) };
        newLine++;
      } else if (kind === 0x2d /* - */) {
        oldLeft--;
      } else if (kind !== 0x5c /* \ No newline at end of file */) {
        // A context line (none with -U0, but harmless): in both versions.
        oldLeft--;
        newLeft--;
        newLine++;
      }
      continue;
    }
    if (line[0] === COMMIT_MARK) {
      commit = line.toString('latin1', 1);
      path = undefined;
    } else if (line.subarray(0, DIFF_HEADER.length).equals(DIFF_HEADER)) {
      path = pathOfDiffHeader(line.subarray(DIFF_HEADER.length));
    } else if (line[0] === 0x40 /* @ */) {
      const hunk = HUNK_HEADER.exec(line.toString('latin1', 0, 100));
      if (hunk === null) continue;
      oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
      newLine = Number(hunk[2]);
      newLeft = hunk[3] === undefined ? 1 : Number(hunk[3]);
    }
  }
}

/**
 * The path in `a/<path> b/<path>` (or both quoted, C-style, when the name has a quote, a backslash, a
 * control or a non-ASCII character): without renames both halves name the same file, so the header
 * splits in its middle, whatever spaces the name holds.
 */
export function pathOfDiffHeader(names: Buffer): string | undefined {
  if ((names.length - 1) % 2 !== 0) return undefined;
  const first = names.subarray(0, (names.length - 1) / 2);
  const unquoted = first[0] === 0x22 /* " */ ? unquoteC(first) : first;
  if (unquoted === undefined || unquoted[0] !== 0x61 /* a */ || unquoted[1] !== 0x2f /* / */)
    return undefined;
  return unquoted.subarray(2).toString('utf8');
}

const ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/** git's C-style quoting undone, to bytes (`\303\251` is a UTF-8 `é`). */
function unquoteC(quoted: Buffer): Buffer | undefined {
  if (quoted.length < 2 || quoted[quoted.length - 1] !== 0x22) return undefined;
  const text = quoted.toString('latin1', 1, quoted.length - 1);
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char !== '\\') {
      bytes.push(char.charCodeAt(0));
      continue;
    }
    const next = text[i + 1] ?? '';
    if (/^[0-7]{3}$/.test(text.slice(i + 1, i + 4))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else if (next in ESCAPES) {
      bytes.push(ESCAPES[next]!);
      i += 1;
    } else {
      return undefined;
    }
  }
  return Buffer.from(bytes);
}

interface GitRun {
  lines: AsyncGenerator<Buffer>;
  done: Promise<void>;
  stop(): void;
}

/** Runs git with these arguments, its output as lines of bytes; `done` rejects if git failed. */
function runGit(cwd: string, args: string[]): GitRun {
  const child = spawn('git', [...UNTRUSTED_TREE_GIT, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error) => reject(new CommandFailure(`cannot run git: ${error.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else if (/not a git repository/i.test(stderr))
        reject(new UsageError(`${cwd} is not in a git work tree`));
      else {
        const command = args.find((arg) => ['diff', 'log', 'rev-parse'].includes(arg)) ?? args[0];
        const reason = stderr.split('\n').find((line) => line.trim() !== '') ?? `exit ${code}`;
        reject(new CommandFailure(`git ${command} failed: ${reason.trim()}`));
      }
    });
  });
  // Rejections are awaited by the reader; this keeps an early one from being unhandled meanwhile.
  done.catch(() => {});
  return {
    lines: splitLines(child.stdout),
    done,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

/** Lines without their `\n`, however the stream cuts its chunks. */
export async function* splitLines(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let partial: Buffer[] = [];
  for await (const chunk of stream) {
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, end);
      yield partial.length === 0 ? piece : Buffer.concat([...partial, piece]);
      partial = [];
      start = end + 1;
    }
    if (start < chunk.length) partial.push(chunk.subarray(start));
  }
  if (partial.length > 0) yield Buffer.concat(partial);
}
