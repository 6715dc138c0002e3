// The six servers, in the order each round runs them. Servers 3 and 4 are one program
// (bench/servers/personal-token-auth.ts) in two processes, loaded with Bearer and Basic headers.
import type { LoadKind } from './load';

export interface ServerDefinition {
  id: number;
  /** Short name for the table and results.json. */
  key: string;
  name: string;
  file: string;
  load: LoadKind;
  usesRedis: boolean;
  /** Needs tokens issued by the library (and the library itself). */
  library: boolean;
  /** Flood of malformed / bad-checksum tokens, for the servers where it tells something. */
  flood?: LoadKind;
  /** Which Redis it talks to: the main one, or the big one of `--scale` (same tokens, many more stored). */
  store: 'main' | 'scale';
}

export const FLOOR_ID = 2;

export const SERVERS: ServerDefinition[] = [
  {
    id: 1,
    key: 'bare',
    name: 'bare Express, no auth',
    file: 'bare-express.ts',
    load: 'bearer',
    usesRedis: false,
    library: false,
    store: 'main',
  },
  {
    id: 2,
    key: 'floor',
    name: 'Express + 1 raw GET (the floor)',
    file: 'raw-redis-get.ts',
    load: 'bearer',
    usesRedis: true,
    library: false,
    flood: 'bad-bearer',
    store: 'main',
  },
  {
    id: 3,
    key: 'bearer',
    name: 'personalTokenAuth() Bearer',
    file: 'personal-token-auth.ts',
    load: 'bearer',
    usesRedis: true,
    library: true,
    flood: 'bad-bearer',
    store: 'main',
  },
  {
    id: 4,
    key: 'basic',
    name: 'personalTokenAuth() Basic',
    file: 'personal-token-auth.ts',
    load: 'basic',
    usesRedis: true,
    library: true,
    flood: 'bad-basic',
    store: 'main',
  },
  {
    id: 5,
    key: 'passport',
    name: 'passport-http-bearer, naive GET+PEXPIRE',
    file: 'passport-naive-bearer.ts',
    load: 'bearer',
    usesRedis: true,
    library: false,
    flood: 'bad-bearer',
    store: 'main',
  },
  {
    id: 6,
    key: 'jwt',
    name: 'jose JWT HS256, no Redis',
    file: 'jwt-jose.ts',
    load: 'jwt',
    usesRedis: false,
    library: false,
    store: 'main',
  },
];

/** With `--scale N`: server 3 again, against a second Redis holding N tokens, in the same rounds. */
export function scaleServer(tokens: number): ServerDefinition {
  return {
    id: 7,
    key: 'bearer-scale',
    name: `server 3 with ${tokens.toLocaleString('en-US')} tokens stored`,
    file: 'personal-token-auth.ts',
    load: 'bearer',
    usesRedis: true,
    library: true,
    store: 'scale',
  };
}

/** With `--with-strategy`: the library's BearerTokenStrategy behind passport.authenticate(). */
export const STRATEGY_SERVER: ServerDefinition = {
  id: 8,
  key: 'strategy',
  name: 'BearerTokenStrategy via passport',
  file: 'passport-token-strategy.ts',
  load: 'bearer',
  usesRedis: true,
  library: true,
  store: 'main',
};

/**
 * With `--with-baselines`: what any middleware pays (server 9: the floor's GET as a middleware that
 * sets `req.user` and `req.authInfo`), and what this design pays at least (server 10: the library's
 * check by hand). Between them and server 3, what the library's own code costs.
 */
export const BASELINE_SERVERS: ServerDefinition[] = [
  {
    id: 9,
    key: 'floor-middleware',
    name: 'the floor as a middleware (sets 2 props)',
    file: 'floor-middleware.ts',
    load: 'bearer',
    usesRedis: true,
    library: false,
    store: 'main',
  },
  {
    id: 10,
    key: 'by-hand',
    name: "the library's check by hand",
    file: 'same-check-by-hand.ts',
    load: 'bearer',
    usesRedis: true,
    library: true,
    store: 'main',
  },
];
