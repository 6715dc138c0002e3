// One run of a server process a test owns (redis-server; any throwaway server can use it): pause
// and resume it by signal, end it for certain. A restart spawns a new one.
import { type ChildProcess, spawn } from 'node:child_process';
import { track, waitForExit } from './owned-processes';

export interface ServerProcess {
  readonly pid: number;
  /** Until it exits, whatever ended it. */
  readonly running: boolean;
  /** True between pause() and resume(). */
  readonly paused: boolean;
  /** SIGSTOP: its connections stay open and nothing answers. */
  pause(): void;
  /** SIGCONT */
  resume(): void;
  /** Sends `signal` and waits for the exit; SIGKILL if it has not exited after a generous wait. */
  end(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export function spawnServer(command: string, args: string[], cwd: string): ServerProcess {
  const child: ChildProcess = track(spawn(command, args, { cwd, stdio: 'ignore' }));
  let paused = false;
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    get pid() {
      return child.pid ?? -1;
    },
    get running() {
      return running();
    },
    get paused() {
      return paused;
    },
    pause() {
      if (!running()) throw new Error(`${command} (pid ${child.pid}) is not running`);
      child.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      child.kill('SIGCONT');
      paused = false;
    },
    async end(signal) {
      if (!running()) return;
      child.kill(signal);
      if (paused) child.kill('SIGCONT'); // a stopped process acts on SIGTERM only once continued
      paused = false;
      if (!(await waitForExit(child, 10000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5000);
      }
    },
  };
}
