// The child process of request-path-files.test.ts: serves an Express app behind personalTokenAuth on
// a Redis store, and reports (as JSON on stdout) the files of the repository's lib/ and adapters/
// whose code ran for one authenticated Bearer request, by V8's precise coverage of this process.
// A process of its own, so that the test runner's code is not in the coverage; the HTTP client
// (fetch, Node's own code) is in it, but never in lib/ or adapters/.
// Usage: node --max-opt=1 --import tsx --conditions=personal-token-auth-source request-path-probe.ts
//   uncached|cached, with REDIS_URL and PREFIX (the key prefix, the caller's to clean up) in the environment.
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { Redis } from 'ioredis';
import { personalTokenAuth, TokenService } from 'personal-token-auth';
import { RedisTokenStore } from 'personal-token-auth/adapters/redis';

export type Variant = 'uncached' | 'cached';

/** A file of lib/ or adapters/ that ran, relative to the repository, with the functions of it that ran. */
export interface RanFile {
  file: string;
  functions: string[];
}

/** What the probe prints about the one counted request. */
export interface ProbeReport {
  variant: Variant;
  status: number;
  /** The login of `req.user` as the route saw it; null if the middleware set none. */
  login: string | null;
  /** Store `verify` calls the request made: 1 without the cache, 0 for a cache hit. */
  storeCalls: number;
  files: RanFile[];
}

// Enough requests for every lazy state on the path (a first use's setup and `lastUsedAt` write, the
// cache's entry) to be settled before the one that is counted.
const WARM_UP_REQUESTS = 200;
const USER = 'ada';
const root = join(__dirname, '..', '..');
// Under these folders, in whatever subfolders the files live.
const COUNTED_FOLDERS = ['lib', 'adapters'];

/** The script's path relative to the repository if it is a file of lib/ or adapters/, else undefined. */
function countedFile(url: string): string | undefined {
  let path: string;
  if (url.startsWith('file:')) path = fileURLToPath(url);
  else if (isAbsolute(url)) path = url;
  else return undefined; // node:internal/..., evalmachine.<anonymous> and the like
  const parts = relative(root, path).split(sep);
  return COUNTED_FOLDERS.includes(parts[0]!) ? parts.join('/') : undefined;
}

// tsx compiles each file to CommonJS, where reading an imported binding calls two getters that the
// compiler wrote into the exporting file: `() => from[key]` and `() => name` (or `() => module.name`
// for a re-export). The same read from a native ES module, or from the build, runs no code of that
// file, so these do not count: a folder's index that only re-exports is not a file on the path.
const EXPORT_ACCESSOR = /^\(\)\s*=>\s*[\w$]+(\.[\w$]+|\[[\w$]+\])?$/;

function isExportAccessor(text: string): boolean {
  return EXPORT_ACCESSOR.test(text);
}

async function main(): Promise<void> {
  const variant = process.argv[2];
  if (variant !== 'uncached' && variant !== 'cached') {
    throw new Error(`usage: request-path-probe.ts uncached|cached (not ${variant})`);
  }
  // Optimized code does not count the calls of the functions it inlined (see the test).
  if (!process.execArgv.includes('--max-opt=1')) throw new Error('run the probe with node --max-opt=1');
  const client = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
  // One instant for the whole run: no use comes due for its `lastUsedAt` write and no cache entry
  // grows stale, however slowly the machine runs, so the counted request takes the same path anywhere.
  const instant = Date.now();
  const store = new RedisTokenStore(client, { prefix: process.env.PREFIX!, now: () => instant });
  // Counts the store's checks (a hit makes none); the wrapper is this file's code, so never counted.
  let storeCalls = 0;
  const verify = store.verify.bind(store);
  store.verify = (...args) => {
    storeCalls++;
    return verify(...args);
  };
  const tokens = new TokenService(variant === 'cached' ? { store, cache: {} } : { store });
  let served: Promise<void> = Promise.resolve();
  const app = express();
  app.use(personalTokenAuth({ tokens }));
  app.get('/', (req, res) => {
    served = new Promise((resolve) => res.once('finish', resolve));
    // Without resolveUser, the middleware's user is the token's login.
    res.json({ login: (req.user as { login?: unknown } | undefined)?.login ?? null });
  });
  const server = app.listen(0, '127.0.0.1');
  const session = new Session();
  try {
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const { token } = await tokens.issue({ user: USER, expiresIn: '1h' });
    // Resolves once the answer is read and the server has finished it: by then the middleware's work
    // (which a cache hit does in a later turn of the loop) and the route's are done.
    const request = async () => {
      const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      const body = (await response.json()) as { login: string | null };
      await served;
      return { status: response.status, login: body.login };
    };

    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    for (let i = 0; i < WARM_UP_REQUESTS; i++) {
      const { status, login } = await request();
      if (status !== 200 || login !== USER) throw new Error(`warm-up request ${i}: ${status}, user ${login}`);
    }
    // With callCount, a take resets the counts: the next take reports only what ran after this one.
    await session.post('Profiler.takePreciseCoverage');
    storeCalls = 0;
    const counted = await request();
    const { result } = await session.post('Profiler.takePreciseCoverage');
    await session.post('Profiler.stopPreciseCoverage');

    const files: RanFile[] = [];
    await session.post('Debugger.enable');
    for (const script of result) {
      const file = countedFile(script.url);
      // A function's first range is the whole function, and its count the calls.
      const called = script.functions.filter((fn) => fn.ranges[0]!.count > 0);
      if (file === undefined || called.length === 0) continue;
      const { scriptSource } = await session.post('Debugger.getScriptSource', { scriptId: script.scriptId });
      const ran = called.filter(
        (fn) => !isExportAccessor(scriptSource.slice(fn.ranges[0]!.startOffset, fn.ranges[0]!.endOffset)),
      );
      if (ran.length > 0) files.push({ file, functions: ran.map((fn) => fn.functionName || '(anonymous)') });
    }
    await session.post('Debugger.disable');
    files.sort((a, b) => a.file.localeCompare(b.file));
    const report: ProbeReport = { variant, ...counted, storeCalls, files };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    session.disconnect();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await tokens.close();
    client.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
