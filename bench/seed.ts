// Seeds the bench Redis with N tokens, fast:
// - the library's tokens through TokenService.issue() + RedisTokenStore, exactly as an app issues
//   them (sliding 30d window, 365d hard limit), many issues in flight over one auto-pipelined client;
// - for every one of those tokens, the keys servers 2 and 5 look up (same token text, so every
//   Redis-backed server is loaded with the same Authorization headers), in pipelined batches;
// - HS256 JWTs for server 6 (stateless: how many exist changes nothing, so at most 10,000).
// Also measures what a stored token costs in Redis memory, before the other servers' keys arrive.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { type Credential, writeCredentials, writeLines } from './credentials';
import { HARD_LIMIT, NAIVE_KEY_PREFIX, RAW_KEY_PREFIX, SLIDING_WINDOW, SLIDING_WINDOW_MS } from './keys';
import { measureTokenMemory, type TokenMemory, usedMemory } from './memory';

/** Tokens per user: most users have a few, and the per-user index is part of what a token costs. */
export const TOKENS_PER_USER = 5;
const ISSUES_IN_FLIGHT = 256;
const PIPELINE_BATCH = 1000;
const MAX_JWTS = 10_000;

export interface SeedOptions {
  redisUrl: string;
  tokens: number;
  /** Issue real tokens through the library (servers 3/4 need them); otherwise random token-shaped text. */
  library: boolean;
  /** Write server 2's and server 5's keys. */
  rawKeys: boolean;
  naiveKeys: boolean;
  jwtSecret: string;
  /** Private temp dir for the credential files. */
  dir: string;
  log: (line: string) => void;
}

export interface SeedResult {
  tokens: number;
  users: number;
  tokenSource: 'TokenService.issue' | 'random';
  credentialsFile: string;
  jwtFile: string;
  jwts: number;
  issueSeconds: number;
  issuesPerSecond: number;
  memory: TokenMemory | null;
}

export function loginFor(index: number, users: number): string {
  return `user${index % users}`;
}

async function issueLibraryTokens(
  redisUrl: string,
  count: number,
  users: number,
  log: (line: string) => void,
): Promise<{ credentials: Credential[]; memory: TokenMemory }> {
  const { TokenService } = await import('personal-token-auth');
  const { RedisTokenStore } = await import('personal-token-auth/adapters/redis');
  const client = new Redis(redisUrl, { enableAutoPipelining: true });
  try {
    const store = new RedisTokenStore(client);
    // Seeding runs hundreds of issues at once; a generous timeout keeps a busy moment from failing it.
    const service = new TokenService({ store, timeout: 30_000 });
    const memoryBefore = await usedMemory(client);
    const credentials = new Array<Credential>(count);
    const ids = new Array<string>(count);
    let next = 0;
    let lastReport = Date.now();
    const worker = async () => {
      while (next < count) {
        const index = next++;
        const issued = await service.issue({
          user: loginFor(index, users),
          autoRefresh: SLIDING_WINDOW,
          expiresIn: HARD_LIMIT,
        });
        credentials[index] = { login: issued.user, token: issued.token };
        ids[index] = issued.id;
        if (Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          log(`  issued ${next.toLocaleString('en-US')} / ${count.toLocaleString('en-US')}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(ISSUES_IN_FLIGHT, count) }, worker));
    const memoryAfter = await usedMemory(client);
    const memory = await measureTokenMemory(client, store, ids, credentials, memoryAfter - memoryBefore);
    return { credentials, memory };
  } finally {
    client.disconnect();
  }
}

/** Token-shaped random text (same length as the library's), for runs without servers 3/4. */
function randomCredentials(count: number, users: number): Credential[] {
  return Array.from({ length: count }, (_, index) => ({
    login: loginFor(index, users),
    token: `pat_${randomBytes(8).toString('hex')}${randomBytes(32).toString('base64url')}${randomBytes(4).toString('hex').slice(0, 6)}`,
  }));
}

async function writeLookupKeys(redisUrl: string, credentials: Credential[], raw: boolean, naive: boolean) {
  const client = new Redis(redisUrl);
  try {
    for (let start = 0; start < credentials.length; start += PIPELINE_BATCH) {
      const pipeline = client.pipeline();
      for (const { login, token } of credentials.slice(start, start + PIPELINE_BATCH)) {
        if (raw) pipeline.set(RAW_KEY_PREFIX + token, login, 'PX', SLIDING_WINDOW_MS);
        if (naive) pipeline.set(NAIVE_KEY_PREFIX + token, JSON.stringify({ login }), 'PX', SLIDING_WINDOW_MS);
      }
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error !== null);
      if (failed) throw failed[0];
    }
  } finally {
    client.disconnect();
  }
}

async function signJwts(count: number, users: number, secretText: string): Promise<string[]> {
  // jose is ESM-only; a dynamic import is how a CommonJS module loads it.
  const { SignJWT } = await import('jose');
  const secret = new TextEncoder().encode(secretText);
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(loginFor(index, users))
        .setIssuedAt()
        .setExpirationTime('24h')
        .sign(secret),
    ),
  );
}

export async function seed(options: SeedOptions): Promise<SeedResult> {
  const { redisUrl, tokens, log } = options;
  const users = Math.max(1, Math.ceil(tokens / TOKENS_PER_USER));
  const started = Date.now();
  let credentials: Credential[];
  let memory: TokenMemory | null = null;
  if (options.library) {
    log(`seeding ${tokens.toLocaleString('en-US')} tokens through TokenService.issue() ...`);
    ({ credentials, memory } = await issueLibraryTokens(redisUrl, tokens, users, log));
  } else {
    credentials = randomCredentials(tokens, users);
  }
  const issueSeconds = (Date.now() - started) / 1000;
  if (options.rawKeys || options.naiveKeys) {
    await writeLookupKeys(redisUrl, credentials, options.rawKeys, options.naiveKeys);
  }
  const credentialsFile = join(options.dir, 'credentials.tsv');
  writeCredentials(credentialsFile, credentials);
  const jwts = await signJwts(Math.min(tokens, MAX_JWTS), users, options.jwtSecret);
  const jwtFile = join(options.dir, 'jwts.txt');
  writeLines(jwtFile, jwts);
  log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    tokens,
    users,
    tokenSource: options.library ? 'TokenService.issue' : 'random',
    credentialsFile,
    jwtFile,
    jwts: jwts.length,
    issueSeconds,
    issuesPerSecond: options.library ? tokens / issueSeconds : 0,
    memory,
  };
}
