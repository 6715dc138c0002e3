// Starts one benchmarked server as its own Node process and asks it for its own figures
// (bench/servers/serve.ts answers over the IPC channel).
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { track, waitForExit } from '../test/support/owned-processes';
import type { ServerMessage, ServerStats } from './servers/serve';

export type ServerProcess = Awaited<ReturnType<typeof startServer>>;

// library-from.ts points `personal-token-auth` at another checkout when BENCH_LIBRARY_DIR says so.
const NODE_FLAGS = ['--import', 'tsx', '--import', join(__dirname, 'library-from.ts')];

// See checkTimeout() in servers/serve.ts.
const UNDER_VALGRIND = { CHECK_TIMEOUT_MS: '60000' };

/** `launcher`: a program to run Node under (valgrind and its arguments); `nodeFlags`: Node's and V8's. */
export async function startServer(
  file: string,
  env: Record<string, string>,
  launcher?: string[],
  nodeFlags: string[] = [],
) {
  const flags = [...NODE_FLAGS, '--conditions=personal-token-auth-source', ...nodeFlags];
  const child = track(
    fork(join(__dirname, 'servers', file), [], {
      // fork runs `execPath ...execArgv file`: the launcher, its arguments, then node and its flags.
      ...(launcher
        ? { execPath: launcher[0], execArgv: [...launcher.slice(1), process.execPath, ...flags] }
        : { execArgv: flags }),
      env: { ...process.env, NODE_ENV: 'production', ...(launcher ? UNDER_VALGRIND : {}), ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const exited = once(child, 'exit').then(([code]) => Promise.reject(new Error(`${file} exited (${code})`)));
  exited.catch(() => {});
  // One question at a time: the harness never asks a server twice at once.
  const next = async () => ((await Promise.race([once(child, 'message'), exited])) as [ServerMessage])[0];
  // Node, tsx and a server's modules take 10 to 60 s to load under valgrind, many minutes on a busy machine.
  const timeoutMs = launcher ? 900_000 : 30_000;
  const tooLong = new Promise<never>((_, reject) => {
    setTimeout(() => reject(new Error(`${file} did not start within ${timeoutMs} ms`)), timeoutMs).unref();
  });
  const ready = await Promise.race([next(), tooLong]);
  const ports = 'port' in ready ? (ready.ports ?? [ready.port]) : [0];
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${ports[0]}`,
    /** A process that serves several programs (servers/several.ts): each one's address, in order. */
    urls: ports.map((port) => `http://127.0.0.1:${port}`),
    async stats(): Promise<ServerStats> {
      child.send('stats');
      const message = await next();
      if (!('requests' in message)) throw new Error(`${file} answered ${JSON.stringify(message)}`);
      return message;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send('shutdown');
      if (!(await waitForExit(child, 10_000))) process.kill(child.pid!, 'SIGKILL');
    },
  };
}
