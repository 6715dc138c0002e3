// Seeds a store with tokens issued through the library's TokenService, exactly as an app issues them
// (1-year hard limit and, for sliding ones, a 30-day window; 5 tokens per user), many issues in flight. The
// tokens reach the load through a file in the run's private temp dir (0600, removed at exit): never a
// command line, the environment, the output or results.json.
import { readFileSync, writeFileSync } from 'node:fs';
import type { TokenKind } from './server-list';
import type { Credential, LibraryLoader, RunningStore } from './stores';

export type { Credential } from './stores';

const TOKENS_PER_USER = 5;
const ISSUES_IN_FLIGHT = 256;

export async function seed(
  store: RunningStore,
  library: LibraryLoader,
  { count, kind, file }: { count: number; kind: TokenKind; file: string },
) {
  const { TokenService } = library('personal-token-auth') as typeof import('personal-token-auth');
  const { store: tokenStore, close } = await store.tokenStore(library);
  const window = kind === 'sliding' ? { autoRefresh: '30d' } : {};
  // Hundreds of issues at once on a busy machine: a generous deadline keeps one slow moment from failing it.
  const service = new TokenService({ store: tokenStore, timeout: 30_000 });
  const credentials = new Array<Credential>(count);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < count; index = next++) {
      const login = `user${Math.floor(index / TOKENS_PER_USER)}`;
      const { token } = await service.issue({ user: login, expiresIn: '365d', ...window });
      credentials[index] = { login, token };
    }
  };
  await Promise.all(Array.from({ length: Math.min(ISSUES_IN_FLIGHT, count) }, worker)).finally(close);
  writeFileSync(file, credentials.map(({ login, token }) => `${login}\t${token}\n`).join(''), {
    mode: 0o600,
  });
  return credentials;
}

/** The first `count` credentials of a seeded file. */
export function readCredentials(file: string, count: number): Credential[] {
  return readFileSync(file, 'utf8')
    .split('\n', count)
    .map((line) => line.split('\t'))
    .map(([login, token]) => ({ login: login!, token: token! }));
}
