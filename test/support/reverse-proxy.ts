// Real servers for the forward-auth end-to-end tests and bench: nginx and Caddy configured with the very
// blocks of docs/forward-auth.md (only addresses replaced, so the docs are what is tested), the CLI's
// serve-auth, `rclone serve webdav` as the upstream and a header-echoing upstream. The clients that
// drive them are in webdav-clients.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { freePort } from './free-port';
import { ownedTempDir, removeTempDir, track, waitForExit } from './owned-processes';

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
  // Longer than serve-auth's own 5 s drain: a server that drains a connection and then exits
  // cleanly must not be killed for it on a busy machine.
  if (!(await waitForExit(child, 15_000))) {
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
  const dir = ownedTempDir('nginx');
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
    { cleanUp: () => removeTempDir(dir) },
  );
}

/** Caddy with the docs' site block, no admin endpoint, its state in a temp dir. */
export async function startCaddy(addresses: ProxyAddresses): Promise<OwnedServer> {
  const port = await freePort();
  const dir = ownedTempDir('caddy');
  const block = docsBlock('caddyfile')
    .replace('dav.example.com {', `http://127.0.0.1:${port} {`)
    .replace('127.0.0.1:9180', `127.0.0.1:${addresses.auth}`)
    .replace('127.0.0.1:8080', `127.0.0.1:${addresses.upstream}`);
  const global = `{\n\tadmin off\n\tauto_https off\n\tstorage file_system ${join(dir, 'data')}\n}\n`;
  writeFileSync(join(dir, 'Caddyfile'), global + block);
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir };
  return startServer('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], port, {
    env,
    cleanUp: () => removeTempDir(dir),
  });
}

/**
 * The real CLI, `personal-token <globalArgs> serve-auth <commandArgs> --listen 127.0.0.1:<port>`, run
 * from `cwd`.
 */
export async function startServeAuth(
  globalArgs: readonly string[],
  cwd: string,
  env?: NodeJS.ProcessEnv,
  commandArgs: readonly string[] = [],
): Promise<OwnedServer> {
  const port = await freePort();
  const args = [
    '--import',
    TSX_LOADER,
    '--conditions=personal-token-auth-source',
    CLI_MAIN,
    ...globalArgs,
    'serve-auth',
    ...commandArgs,
    '--listen',
    `127.0.0.1:${port}`,
  ];
  return startServer(process.execPath, args, port, { cwd, env });
}

/** `rclone serve webdav` on a temp dir, with folders `docs` and `inbox`, and rclone flags of the caller's. */
export async function startRcloneWebdav(
  flags: readonly string[] = [],
): Promise<OwnedServer & { dir: string }> {
  const port = await freePort();
  const dir = ownedTempDir('share');
  for (const folder of ['docs', 'inbox', 'litmus-root']) mkdirSync(join(dir, folder));
  writeFileSync(join(dir, 'docs', 'readme.txt'), 'hello\n');
  const server = await startServer(
    'rclone',
    ['serve', 'webdav', dir, '--addr', `127.0.0.1:${port}`, '--config', join(dir, '.rclone.conf'), ...flags],
    port,
    { cleanUp: () => removeTempDir(dir) },
  );
  return { ...server, dir };
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
