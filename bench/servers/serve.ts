// What every benchmarked server shares: the route, the store's address, listening on a free loopback
// port, and its own figures reported over the IPC channel rather than an HTTP endpoint, so that asking
// for them is never itself a request that goes through (or around) the auth under test.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

/** Every server serves this one small JSON route: `{"user":"<login>"}`. */
export const ROUTE = '/me';

/** The floor's data: `GET <prefix><token>` → login. */
export const LOGIN_KEY_PREFIX = 'bench:login:';

/** The PostgreSQL floor's data: a row (token primary key, login) in this table. */
export const LOGIN_TABLE = 'bench_logins';

export interface ServerStats {
  /** process.cpuUsage(), user + system, µs. */
  cpuUs: number;
  /** HTTP requests received since start. */
  requests: number;
}

/** Ready, listening on `port`; a process that serves several programs lists all their ports. */
export type ServerMessage = { port: number; ports?: number[] } | ServerStats;

/** An address the harness passes in the environment (REDIS_URL, ...). */
export function storeAddress(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (servers are started by bench/run.ts)`);
  return value;
}

/**
 * The deadline of a library server's store calls: the library's default (1 s) unless the harness sets
 * `CHECK_TIMEOUT_MS`, as it does under valgrind, where a request takes tens of ms and a descheduled
 * moment on a busy machine a second or more: a 503 then would count a path that is not the one measured.
 */
export function checkTimeout(): number | undefined {
  return process.env.CHECK_TIMEOUT_MS ? Number(process.env.CHECK_TIMEOUT_MS) : undefined;
}

export const sendHarness = (message: ServerMessage) => process.send?.(message);

/** Answers the harness: 'stats' (CPU time and `requests()` so far) until 'shutdown'. */
export function answerHarness(requests: () => number): void {
  process.on('message', (message: 'stats' | 'shutdown') => {
    const { user, system } = process.cpuUsage();
    if (message === 'stats') sendHarness({ cpuUs: user + system, requests: requests() });
    if (message === 'shutdown') process.exit(0);
  });
  // The harness is gone (crashed, killed): so is the reason to run.
  process.on('disconnect', () => process.exit(0));
}

/** A server program's app and when it is ready, as serve() got them in a process that hosts several. */
export interface HostedApp {
  app: Express;
  ready: Promise<unknown>;
}

let hosted: HostedApp[] | null = null;

/**
 * Turns serve() into a registration: every server program loaded after this call hands its app to the
 * returned list instead of listening, for one process that serves several of them (servers/several.ts).
 */
export function hostSeveral(): HostedApp[] {
  hosted = [];
  return hosted;
}

/**
 * Serves `app` on 127.0.0.1 (a free port) once `ready` (the store answering) resolves, and tells the
 * harness which port; answers 'stats' until 'shutdown'. Started by hand, it prints its address
 * instead, for a profiler (`node --cpu-prof`) or a load of one's own.
 */
export function serve(app: Express, ready: Promise<unknown> = Promise.resolve()): void {
  if (hosted) {
    hosted.push({ app, ready });
    return;
  }
  let requests = 0;
  const server = createServer(app).on('request', () => requests++);
  server.keepAliveTimeout = 60_000;
  answerHarness(() => requests);
  ready
    .then(() => new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening)))
    .then(() => {
      const { port } = server.address() as AddressInfo;
      if (process.send) sendHarness({ port });
      else console.log(`listening on http://127.0.0.1:${port}${ROUTE}`);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
