// A real PostgreSQL server for one test file: initdb in a temporary folder, the postmaster on a free
// loopback port (its unix socket in the same folder), stopped, killed, frozen and thawed by pid, and
// the folder removed at the end. Statements are counted at the server, by pg_stat_statements.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port';
import { removeOnExit, removeTempDir, track, waitForExit } from './owned-processes';
import { waitFor } from './wait-for';

export interface PostgresServer {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication: no password). */
  url: string;
  /** The postmaster's pid, while it runs. */
  readonly pid: number | undefined;
  /** Fast shutdown (SIGINT), waiting for the postmaster to exit. */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster and its children: a crash. */
  kill(): Promise<void>;
  /** SIGSTOP to the postmaster and its children: connections stay open, nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Starts it again on the same port and data (after stop or kill). */
  start(): Promise<void>;
  /** Statements executed so far whose text contains `marker` (pg_stat_statements). */
  statementCount(marker: string): Promise<number>;
  cleanup(): Promise<void>;
}

/** Where initdb and postgres are: on PATH, in a Debian package's folder, or in /usr/local/bin. */
export function postgresBinDir(): string {
  const candidates = [
    ...(process.env.PATH ?? '').split(':'),
    ...listDirs('/usr/lib/postgresql')
      .sort((a, b) => Number(b) - Number(a))
      .map((version) => `/usr/lib/postgresql/${version}/bin`),
    '/usr/local/bin',
  ];
  const found = candidates.find(
    (dir) => dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')),
  );
  if (!found) throw new Error('PostgreSQL not found: install it (Debian: apt-get install postgresql)');
  return found;
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** PostgreSQL refuses to run as root: then it runs as the `postgres` user (or `nobody`). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const users = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'));
  const user =
    users.find((fields) => fields[0] === 'postgres') ?? users.find((fields) => fields[0] === 'nobody');
  if (!user) throw new Error('running as root, and no postgres or nobody user to run PostgreSQL as');
  return { uid: Number(user[2]), gid: Number(user[3]) };
}

function hasStatStatements(bin: string): boolean {
  try {
    const share = execFileSync(join(bin, 'pg_config'), ['--sharedir'], { encoding: 'utf8' }).trim();
    return existsSync(join(share, 'extension', 'pg_stat_statements.control'));
  } catch {
    return (
      existsSync('/usr/share/postgresql') &&
      listDirs('/usr/share/postgresql').some((version) =>
        existsSync(`/usr/share/postgresql/${version}/extension/pg_stat_statements.control`),
      )
    );
  }
}

/** The pids of `pid`'s children (from /proc), for signals that must reach every backend. */
function childrenOf(pid: number): number[] {
  return listDirs('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // pid (comm) state ppid: comm may hold spaces, so read after its closing parenthesis.
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const user = serverUser();
  const dir = removeOnExit(mkdtempSync(join(tmpdir(), 'pta-postgres-')));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { ...user, stdio: 'pipe' },
  );
  const statStatements = hasStatStatements(bin);
  if (!statStatements)
    throw new Error('pg_stat_statements is not installed (it comes with the server package)');
  const port = await freePort();
  let child: ChildProcess | undefined;

  const logTail = () => {
    try {
      return readFileSync(join(dir, 'postgres.log'), 'utf8').trimEnd().split('\n').slice(-20).join('\n');
    } catch {
      return '(no log)';
    }
  };

  async function start(): Promise<void> {
    const args = [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      // A throwaway server: nothing needs to survive a power cut.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'max_connections=60',
      '-c',
      `logging_collector=off`,
    ];
    const started = spawn(join(bin, 'postgres'), args, { ...user, stdio: ['ignore', 'ignore', 'pipe'] });
    track(started);
    let log = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    });
    child = started;
    try {
      await waitFor(
        `PostgreSQL on port ${port}`,
        async () => {
          if (started.exitCode !== null) throw new Error(`postgres exited: ${log}`);
          const client = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
          client.on('error', () => {});
          try {
            await client.connect();
            await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
            return true;
          } finally {
            await client.end().catch(() => {});
          }
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
    } catch (error) {
      started.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n--- postgres log ---\n${log || logTail()}`);
    }
  }

  function signalAll(signal: NodeJS.Signals): void {
    const pid = child?.pid;
    if (pid === undefined) return;
    const pids = signal === 'SIGCONT' ? [pid, ...childrenOf(pid)] : [...childrenOf(pid), pid];
    for (const target of pids) {
      try {
        process.kill(target, signal);
      } catch {}
    }
  }

  async function waitGone(): Promise<void> {
    const running = child;
    if (!running) return;
    if (!(await waitForExit(running, 30_000))) throw new Error('postgres did not exit');
    child = undefined;
    // Backends notice their postmaster died within a moment; a new one refuses to start while they
    // hold its shared memory.
    await waitFor('the old backends to exit', async () =>
      childrenOf(running.pid ?? -1).length === 0 ? true : undefined,
    );
  }

  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  return {
    port,
    url,
    get pid() {
      return child?.pid;
    },
    async stop() {
      child?.kill('SIGINT');
      await waitGone();
    },
    async kill() {
      signalAll('SIGKILL');
      await waitGone();
    },
    freeze: () => signalAll('SIGSTOP'),
    thaw: () => signalAll('SIGCONT'),
    start,
    async statementCount(marker) {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query(
          'SELECT coalesce(sum(calls), 0)::int AS calls FROM pg_stat_statements WHERE strpos(query, $1) > 0',
          [marker],
        );
        return (rows[0] as { calls: number }).calls;
      } finally {
        await client.end();
      }
    },
    async cleanup() {
      if (child) {
        signalAll('SIGCONT');
        child.kill('SIGINT');
        await waitGone().catch(() => {
          child?.kill('SIGKILL');
        });
      }
      removeTempDir(dir);
    },
  };
}
