// Starting one benchmarked server as its own Node process and asking it for its own figures
// (bench/servers/serve.ts answers over the IPC channel).
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { track, waitForExit } from '../test/support/owned-processes';
import type { ParentMessage, ServerMessage, ServerStats } from './servers/serve';

export interface ServerProcess {
  readonly pid: number;
  readonly url: string;
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

/** A program that runs Node under it (valgrind, say), and how long the server may take to start then. */
export interface Launcher {
  command: string;
  args: string[];
  startTimeoutMs: number;
}

export async function startServer(
  file: string,
  env: Record<string, string>,
  extraNodeFlags: string[] = [],
  launcher?: Launcher,
): Promise<ServerProcess> {
  const nodeFlags = ['--import', 'tsx', '--conditions=personal-token-auth-source', ...extraNodeFlags];
  const startTimeoutMs = launcher?.startTimeoutMs ?? 30_000;
  const child = track(
    fork(join(__dirname, 'servers', file), [], {
      // fork runs `execPath ...execArgv file`: the launcher's command, its arguments, then node.
      ...(launcher
        ? { execPath: launcher.command, execArgv: [...launcher.args, process.execPath, ...nodeFlags] }
        : { execArgv: nodeFlags }),
      env: { ...process.env, NODE_ENV: 'production', ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  let seq = 0;
  const pending = new Map<
    number,
    { resolve: (stats: ServerStats) => void; reject: (error: Error) => void }
  >();
  child.on('exit', (code) => {
    for (const { reject } of pending.values()) reject(new Error(`${file} exited (${code})`));
    pending.clear();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${file} did not start within ${startTimeoutMs / 1000} s`)),
      startTimeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before it was ready`));
    });
    child.on('message', (message: ServerMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.port);
      }
      if (message.type === 'stats') {
        pending.get(message.seq)?.resolve(message.stats);
        pending.delete(message.seq);
      }
    });
  });
  const send = (message: ParentMessage) => child.send(message);
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    stats() {
      return new Promise((resolve, reject) => {
        if (child.exitCode !== null) return reject(new Error(`${file} has exited (${child.exitCode})`));
        const id = ++seq;
        pending.set(id, { resolve, reject });
        send({ type: 'stats', seq: id });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      send({ type: 'shutdown' });
      // A clean exit writes --cpu-prof profiles; give it time, then insist.
      if (!(await waitForExit(child, 10_000))) process.kill(child.pid!, 'SIGKILL');
    },
  };
}
