// Helpers for the example-app tests: an in-process app on the memory store with an injectable clock, and
// the app spawned as a real process (what `npm start` runs) for the real-client tests.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import { TokenService } from 'personal-token-auth';
import { MemoryTokenStore } from 'personal-token-auth/adapters/memory';
import { createApp } from '../../example-app/app';
import { seedDemoTree } from '../../example-app/demo-tree';
import { NodeTree } from '../../example-app/node-tree';
import { UserDirectory } from '../../example-app/users';

const ROOT = join(__dirname, '..', '..');

export function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pat-example-test-'));
  seedDemoTree(dir);
  return dir;
}

export interface InProcessApp {
  app: Express;
  nodes: NodeTree;
  tokens: TokenService;
  /** Issues for any login, even a disabled one: as if the user was disabled after the token was created. */
  tokensIgnoringUsers: TokenService;
  clock: { now: number };
  uuidOf(path: string): string;
  /** login:token for a Basic Authorization header. */
  basic(login: string, token: string): string;
  close(): void;
}

export function startInProcess(): InProcessApp {
  const dataDir = freshDataDir();
  const clock = { now: Date.parse('2030-01-01T00:00:00Z') };
  const now = () => clock.now;
  const store = new MemoryTokenStore({ now });
  const users = new UserDirectory();
  const tokens = new TokenService({ store, now, resolveUser: (login) => users.resolve(login) });
  const nodes = NodeTree.open(dataDir);
  return {
    app: createApp({ tokens, nodes, users }),
    nodes,
    tokens,
    tokensIgnoringUsers: new TokenService({ store, now }),
    clock,
    uuidOf(path) {
      const node = nodes.nodeAt(path);
      if (!node) throw new Error(`no node at ${path}`);
      return node.uuid;
    },
    basic: (login, token) => 'Basic ' + Buffer.from(`${login}:${token}`).toString('base64'),
    close: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** Fails, with how to install it, if a client binary is missing: these tests never skip silently. */
export function requireClient(name: string, debianPackage: string = name): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} is not installed; install it with: apt-get install -y ${debianPackage}`);
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (no shell; `input` on its stdin), with a deadline so a hung client fails the test. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // A client that exits without reading its input closes the pipe first: that is no failure.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface SpawnedApp {
  baseUrl: string;
  davUrl: string;
  /** Everything the process printed on stdout at startup (the banner). */
  banner: string;
  /** The demo token, when the app runs on the memory store. */
  demoToken: string | null;
  process: ChildProcess;
  stderr(): string;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts example-app/server.ts as `npm start` does, on a free port (PORT=0), and waits for its banner. */
export function spawnExampleApp(env: NodeJS.ProcessEnv = {}): Promise<SpawnedApp> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=personal-token-auth-source', join('example-app', 'server.ts')],
    { cwd: ROOT, env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`example app did not start within 20 s; stderr:\n${stderr}`));
    }, 20_000);
    const exitedEarly = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`example app exited with ${code} before starting; stderr:\n${stderr}`));
    };
    child.on('exit', exitedEarly);
    const onStdout = (chunk: Buffer) => {
      stdout += chunk;
      // The banner ends with the rclone line, the last of the "Try it" commands.
      if (!/^ {2}rclone .*$/m.test(stdout)) return;
      child.stdout!.off('data', onStdout).resume(); // keep draining whatever comes later
      clearTimeout(timer);
      child.off('exit', exitedEarly);
      const baseUrl = /REST: +(http:\/\/\S+)\/api\//.exec(stdout)?.[1];
      if (!baseUrl) return reject(new Error(`no URL in the banner:\n${stdout}`));
      resolve({
        baseUrl,
        davUrl: `${baseUrl}/dav/`,
        banner: stdout,
        demoToken: /^ {2}export TOKEN=(pat_\S+)$/m.exec(stdout)?.[1] ?? null,
        process: child,
        stderr: () => stderr,
        stop: () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout!.on('data', onStdout);
  });
}
