// What the bench can run: the servers (one entry here + one file in bench/servers/ each) and the
// workloads (how many distinct tokens the load draws from). A row of the report is one server under
// one workload, run on this checkout's code or, for library servers with --compare, another's.
import type { StoreName } from './stores';

/** How the load presents a seeded token. */
export type LoadKind = 'bearer' | 'basic';

/** The seeded tokens' expiry: sliding (`-a`, each use pushes it) or only a hard limit (`-e`). */
export type TokenKind = 'sliding' | 'hard';

export interface ServerDefinition {
  id: number;
  /** Short name for --servers, the table and results.json. */
  key: string;
  name: string;
  /** Its program, in bench/servers/. */
  file: string;
  load: LoadKind;
  /** The backing store it needs: the harness starts it, seeds it and passes its address (env). */
  store: StoreName | null;
  /** Runs the library's code: with --compare, also run on the other checkout's. */
  library: boolean;
  /** The tokens it is loaded with: sliding unless said (the floor's GET reads either). */
  tokens?: TokenKind;
  /** Its timed figures are ratios to this server's (its store's own floor) when it runs, else to server 2's. */
  floor?: number;
  /** Compared also with this server's figures in the same round (what the row is an alternative to). */
  versus?: number;
  /** Keeps checked tokens in process (every library server's warm-up sends each of the first 10,000 once). */
  cached?: boolean;
  /** Headers every request also carries. */
  headers?: Record<string, string>;
  /** Run only when --servers names it. */
  optional?: boolean;
}

/** Timed figures are given as ratios to this server's in the same round. */
export const FLOOR_ID = 2;
/** Instruction counts are given as ratios to this one: what any auth middleware pays. */
export const FLOOR_MIDDLEWARE_ID = 9;

// biome-ignore format: one line per server reads as a table
export const SERVERS: ServerDefinition[] = [
  { id: 1, key: 'bare', name: 'bare Express, no auth', file: 'bare-express.ts', load: 'bearer', store: null, library: false },
  { id: 2, key: 'floor', name: 'Express + 1 raw GET (the floor)', file: 'raw-redis-get.ts', load: 'bearer', store: 'redis', library: false },
  { id: 3, key: 'bearer', name: 'personalTokenAuth() Bearer', file: 'personal-token-auth.ts', load: 'bearer', store: 'redis', library: true },
  { id: 4, key: 'basic', name: 'personalTokenAuth() Basic', file: 'personal-token-auth.ts', load: 'basic', store: 'redis', library: true },
  { id: 5, key: 'postgres', name: 'personalTokenAuth() Bearer on PostgreSQL', file: 'personal-token-auth-postgres.ts', load: 'bearer', store: 'postgres', library: true, optional: true, versus: 3, floor: 10 },
  { id: 6, key: 'cached', name: 'personalTokenAuth() Bearer, cached', file: 'personal-token-auth-cached.ts', load: 'bearer', store: 'redis', library: true, optional: true, versus: 3, tokens: 'hard', cached: true },
  { id: 8, key: 'strategy', name: 'BearerTokenStrategy via passport', file: 'passport-token-strategy.ts', load: 'bearer', store: 'redis', library: true, optional: true },
  { id: 9, key: 'floor-middleware', name: 'the floor as a middleware', file: 'floor-middleware.ts', load: 'bearer', store: 'redis', library: false },
  { id: 10, key: 'postgres-floor', name: 'Express + 1 prepared SELECT (the PostgreSQL floor)', file: 'raw-postgres-select.ts', load: 'bearer', store: 'postgres', library: false, optional: true, floor: 10 },
  { id: 11, key: 'forward-auth', name: "forwardAuth(): a proxy's sub-request", file: 'forward-auth.ts', load: 'bearer', store: 'redis', library: true, optional: true,
    headers: { 'x-original-method': 'GET', 'x-original-uri': '/files/report.pdf' } },
  { id: 12, key: 'async-wrapped', name: 'personalTokenAuth() Bearer behind an async wrapper', file: 'personal-token-auth-async.ts', load: 'bearer', store: 'redis', library: true, optional: true },
];

export interface Workload {
  key: string;
  /** The load picks every request's token at random among this many seeded ones. */
  tokens: number;
}

export const WORKLOADS: Workload[] = [
  { key: 'hot', tokens: 10_000 },
  { key: 'cold', tokens: 1_000_000 },
];

/** A workload by name, or a number of tokens (`200`, `50_000`). */
export function workloadNamed(text: string): Workload | null {
  const tokens = Number(text.replace(/_/g, ''));
  const valid = Number.isInteger(tokens) && tokens >= 1 && tokens <= 1_000_000;
  return WORKLOADS.find((workload) => workload.key === text) ?? (valid ? { key: text, tokens } : null);
}

export interface Row {
  server: ServerDefinition;
  workload: Workload;
  /** The other checkout's code (--compare), labelled "(before)". */
  before: boolean;
}

export function rowLabel({ server, workload, before }: Row, workloads: number): string {
  return `${server.id} ${server.name}${workloads > 1 ? `, ${workload.key}` : ''}${before ? ' (before)' : ''}`;
}
