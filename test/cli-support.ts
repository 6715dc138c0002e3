// Runs the `personal-token` CLI as a real process, the way a shell or a script does, and gives the
// CLI tests their own Redis key prefix. Not a test file itself (no .test.ts).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli as runCliProgram } from '../cli/program';

export { TEST_REDIS_URL } from './support/redis';

const CLI_MAIN = resolve(__dirname, '..', 'cli', 'main.ts');
// Absolute, so the CLI can run with any working directory (a config file's, an empty one's).
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/** Redis key prefix of the CLI tests, as the brief asks: `test-cli-<random>:`. */
export function cliPrefix(): string {
  return `test-cli-${randomBytes(4).toString('hex')}:`;
}

export function uniqueLogin(label: string): string {
  return `${label}-${randomBytes(3).toString('hex')}`;
}

export interface CliRun {
  /** Exit code, or null if the process was killed (see `signal`). */
  code: number | null;
  /** Set when the CLI did not exit by itself within the guard time and had to be killed. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Working directory; default an empty temp dir, so no stray config file is picked up. */
  cwd?: string;
  /** Environment; default the test process's. */
  env?: NodeJS.ProcessEnv;
  /**
   * A guard against a CLI that never ends (endless reconnection): the process is killed after this
   * and `signal` says so. Not a speed assertion: a healthy run ends far sooner.
   */
  killAfterMs?: number;
}

let emptyDir: string | undefined;

function defaultCwd(): string {
  emptyDir ??= mkdtempSync(join(tmpdir(), 'personal-token-cli-'));
  return emptyDir;
}

process.on('exit', () => {
  if (emptyDir !== undefined) rmSync(emptyDir, { recursive: true, force: true });
});

// Each spawn compiles TypeScript through tsx (~0.4 s of CPU): a few at a time keep a small machine
// responsive and the kill guard meaningful.
const MAX_CONCURRENT_SPAWNS = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function withSpawnSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_SPAWNS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs `personal-token <args>` as a real process: node, the shebang'd entry point, real stdio. */
export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  return withSpawnSlot(() => spawnCli(args, options));
}

function spawnCli(args: readonly string[], options: CliRunOptions): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_MAIN, ...args], {
      cwd: options.cwd ?? defaultCwd(),
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000);
    child.once('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/**
 * The same program in this process (cli/program.ts's runCli, which cli/main.ts only wraps): for the
 * long tables of cases, where a process per case would cost seconds and prove nothing more.
 */
export async function runCliInProcess(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCliProgram(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: options.env ?? process.env,
    cwd: options.cwd ?? defaultCwd(),
  });
  return { code, signal: null, stdout, stderr };
}

/** Exactly one token on its own line: what `TOKEN=$(personal-token create ... -q)` captures. */
export function tokenLine(tokenPrefix = 'pat_'): RegExp {
  return new RegExp(`^${tokenPrefix}[0-9a-f]{16}[A-Za-z0-9_-]{43}[0-9a-z]{17}[0-9A-Za-z]{6}\\n$`);
}

/** The 16-hex id inside a token text (after the prefix). */
export function tokenId(token: string, tokenPrefix = 'pat_'): string {
  return token.trim().slice(tokenPrefix.length, tokenPrefix.length + 16);
}

/** The lines of a text, without the final newline. */
export function lines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}
