// Real servers for the forward-auth end-to-end tests and bench: nginx and Caddy configured with the very
// blocks of docs/forward-auth.md (only addresses replaced, so the docs are what is tested), `rclone serve
// webdav` as the upstream, a header-echoing upstream, and the clients (rclone, litmus, curl).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { forgetDir, removeOnExit, track, waitForExit } from './owned-processes';

const DOCS = resolve(__dirname, '..', '..', 'docs', 'forward-auth.md');
const CLI_MAIN = resolve(__dirname, '..', '..', 'cli', 'main.ts');
// Absolute, so the CLI can run in any working directory (a config file's).
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
// Guards against a server that never comes up; a healthy one is up in well under a second.
const START_WITHIN_MS = 20_000;
// Debian puts nginx in /usr/sbin, which is not on every user's PATH.
const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';

/** The one fenced block of `language` in docs/forward-auth.md. */
export function docsBlock(language: 'nginx' | 'caddyfile'): string {
  const blocks = [...readFileSync(DOCS, 'utf8').matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)]
    .filter((match) => match[1] === language)
    .map((match) => match[2]!);
  if (blocks.length !== 1) throw new Error(`docs/forward-auth.md must have one ${language} block`);
  return blocks[0]!;
}

export function tempDir(label: string): string {
  return removeOnExit(mkdtempSync(join(tmpdir(), `forward-auth-${label}-`)));
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolveAccepts) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveAccepts(true);
    });
    socket.once('error', () => resolveAccepts(false));
  });
}

export interface OwnedServer {
  child: ChildProcess;
  port: number;
  url: string;
  /** What the process wrote, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts a server process and waits until it accepts connections on `port`. */
export async function startServer(
  command: string,
  args: readonly string[],
  port: number,
  options: { env?: NodeJS.ProcessEnv; cwd?: string; cleanUp?: () => void } = {},
): Promise<OwnedServer> {
  const child = track(
    spawn(command, [...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let output = '';
  child.stdout!.on('data', (data) => (output += data));
  child.stderr!.on('data', (data) => (output += data));
  const deadline = Date.now() + START_WITHIN_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${command} did not start on port ${port}: ${output}`);
    }
    await sleep(50);
  }
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: () => stopChild(child).then(() => options.cleanUp?.()),
  };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  if (!(await waitForExit(child, 5_000))) {
    child.kill('SIGKILL');
    await waitForExit(child, 5_000);
  }
}

export interface ProxyAddresses {
  /** Port of the forward-auth server (its path is /auth). */
  auth: number;
  /** Port of the upstream. */
  upstream: number;
}

/** nginx with the docs' server block, in a prefix of its own: own pid file, logs and temp dirs. */
export async function startNginx(addresses: ProxyAddresses): Promise<OwnedServer> {
  const port = await freePort();
  const block = docsBlock('nginx')
    .replace('listen 80;', `listen 127.0.0.1:${port};`)
    .replace('server 127.0.0.1:9180;', `server 127.0.0.1:${addresses.auth};`)
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${addresses.upstream};`);
  return startNginxWith(block, port);
}

/** nginx with `http` block contents of the caller's, listening on `port`. */
export async function startNginxWith(httpBlock: string, port: number): Promise<OwnedServer> {
  const dir = tempDir('nginx');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`)
    .join('\n');
  const config = [
    // Workers as root when the tests run as root: the temp dirs are the test's own, mode 700.
    process.getuid?.() === 0 ? 'user root;' : '',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    temp,
    httpBlock,
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), config);
  return startServer(
    NGINX,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
    port,
    { cleanUp: () => rmDir(dir) },
  );
}

/** Caddy with the docs' site block, no admin endpoint, its state in a temp dir. */
export async function startCaddy(addresses: ProxyAddresses): Promise<OwnedServer> {
  const port = await freePort();
  const dir = tempDir('caddy');
  const block = docsBlock('caddyfile')
    .replace('dav.example.com {', `http://127.0.0.1:${port} {`)
    .replace('127.0.0.1:9180', `127.0.0.1:${addresses.auth}`)
    .replace('127.0.0.1:8080', `127.0.0.1:${addresses.upstream}`);
  const global = `{\n\tadmin off\n\tauto_https off\n\tstorage file_system ${join(dir, 'data')}\n}\n`;
  writeFileSync(join(dir, 'Caddyfile'), global + block);
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir };
  return startServer('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], port, {
    env,
    cleanUp: () => rmDir(dir),
  });
}

/** The real CLI, `personal-token <globalArgs> serve-auth --listen 127.0.0.1:<port>`, run from `cwd`. */
export async function startServeAuth(globalArgs: readonly string[], cwd: string): Promise<OwnedServer> {
  const port = await freePort();
  const args = [
    '--import',
    TSX_LOADER,
    '--conditions=personal-token-auth-source',
    CLI_MAIN,
    ...globalArgs,
    'serve-auth',
    '--listen',
    `127.0.0.1:${port}`,
  ];
  return startServer(process.execPath, args, port, { cwd });
}

/** `rclone serve webdav` on a temp dir, with folders `docs` and `inbox`. */
export async function startRcloneWebdav(): Promise<OwnedServer & { dir: string }> {
  const port = await freePort();
  const dir = tempDir('share');
  for (const folder of ['docs', 'inbox', 'litmus-root']) mkdirSync(join(dir, folder));
  writeFileSync(join(dir, 'docs', 'readme.txt'), 'hello\n');
  const server = await startServer(
    'rclone',
    ['serve', 'webdav', dir, '--addr', `127.0.0.1:${port}`, '--config', join(dir, '.rclone.conf')],
    port,
    { cleanUp: () => rmDir(dir) },
  );
  return { ...server, dir };
}

function rmDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  forgetDir(dir);
}

/** An upstream that answers every request with the request's headers, and counts the requests. */
export async function startEchoServer(): Promise<{
  port: number;
  requests: IncomingHttpHeaders[];
  close(): Promise<void>;
}> {
  const requests: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.headers);
    req.resume();
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(req.headers));
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

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
  const configDir = tempDir('rclone-client');
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
    dispose: () => rmDir(configDir),
  };
}

/** One litmus suite against `url` (a collection), with the token as the Basic password. */
export async function runLitmus(url: string, user: string, token: string, suite: string): Promise<Run> {
  const cwd = tempDir('litmus');
  try {
    return await run('litmus', [url, user, token], { cwd, env: { ...process.env, TESTS: suite } });
  } finally {
    rmDir(cwd);
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
