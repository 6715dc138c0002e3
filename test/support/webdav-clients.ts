// The clients the forward-auth end-to-end tests drive a proxy with: curl (Bearer), rclone and
// litmus (the token as the Basic password), each run to completion with its output kept.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ownedTempDir, removeTempDir, track } from './owned-processes';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client to completion (killed after `timeoutMs`, a guard only). Never rejects. */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(
      command,
      [...args],
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 16 << 20,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        done({ code, stdout, stderr });
      },
    );
    track(child);
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** rclone as a WebDAV client with the token as the Basic password (from the environment, not argv). */
export async function rcloneClient(url: string, user: string, token: string) {
  const obscured = (await run('rclone', ['obscure', '-'], { input: token })).stdout.trim();
  const configDir = ownedTempDir('rclone-client');
  const env = {
    ...process.env,
    RCLONE_CONFIG: join(configDir, 'rclone.conf'),
    RCLONE_CONFIG_DAV_TYPE: 'webdav',
    RCLONE_CONFIG_DAV_URL: url,
    RCLONE_CONFIG_DAV_VENDOR: 'other',
    RCLONE_CONFIG_DAV_USER: user,
    RCLONE_CONFIG_DAV_PASS: obscured,
  };
  return {
    /** `rclone <args>` with the remote `dav:`; low retries so a refusal fails fast. */
    run: (...args: string[]) =>
      run('rclone', [...args, '--retries', '1', '--low-level-retries', '1'], { env }),
    dispose: () => removeTempDir(configDir),
  };
}

/** One litmus suite against `url` (a collection), with the token as the Basic password. */
export async function runLitmus(url: string, user: string, token: string, suite: string): Promise<Run> {
  const cwd = ownedTempDir('litmus');
  try {
    return await run('litmus', [url, user, token], { cwd, env: { ...process.env, TESTS: suite } });
  } finally {
    removeTempDir(cwd);
  }
}

/** Each litmus test's result (`pass`, `FAIL`, `WARNING`...) by name, and the summary lines. */
export function litmusResults(output: string): { results: Record<string, string>; summary: string[] } {
  const results: Record<string, string> = {};
  // litmus redraws each line after a \r: progress first, then the same line with the result.
  for (const line of output.split(/[\r\n]+/)) {
    const match = /^\s*\d+\. (\w+)\.+ (pass|FAIL|WARNING|SKIPPED)/.exec(line);
    if (match) results[match[1]!] = match[2]!;
  }
  return { results, summary: [...output.matchAll(/^<- summary .*$/gm)].map((match) => match[0]) };
}

/** curl, printing the status line and headers then the body (`-i`), never failing on a status. */
export function curl(...args: string[]): Promise<Run> {
  return run('curl', ['-sS', '-i', '--max-time', '20', ...args]);
}

export function statusOf(output: string): number {
  const statuses = [...output.matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)];
  return Number(statuses.at(-1)?.[1] ?? 0);
}
