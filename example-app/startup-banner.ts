import { DEFAULT_KEY_PREFIX, DEFAULT_REDIS_URL } from 'personal-token-auth';
import { DEMO_PASSWORD } from './users';

export interface BannerFacts {
  baseUrl: string; // e.g. http://127.0.0.1:3000
  filesDir: string;
  filesAreTemporary: boolean;
  store:
    | { kind: 'memory' }
    | { kind: 'redis'; url: string; keyPrefix: string }
    | { kind: 'postgres'; url: string };
  /** The demo token (memory store only): printed here once, the moment it is created, and never again. */
  demoToken: { login: string; token: string; expiresIn: string } | null;
  readmeUuid: string | null;
}

/** A Redis or PostgreSQL URL fit to print: its password, if any, masked. */
export function redactStoreUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** The CLI's global options needed to reach the same tokens as the app (none with the defaults). */
function cliOptions(store: { url: string; keyPrefix: string }): string {
  const options: string[] = [];
  if (store.url !== DEFAULT_REDIS_URL) options.push(`--redis '${redactStoreUrl(store.url)}'`);
  if (store.keyPrefix !== DEFAULT_KEY_PREFIX) options.push(`--prefix '${store.keyPrefix}'`);
  return options.map((option) => `${option} `).join('');
}

/**
 * What `npm start` prints: where things are, the demo token (as an `export TOKEN=...` line, so the commands
 * below it are the same whatever the token) and copy-paste commands. The README's "Try it" section mirrors it.
 */
export function startupBanner(facts: BannerFacts): string {
  const { baseUrl } = facts;
  const login = facts.demoToken?.login ?? 'admin';
  const store =
    facts.store.kind === 'memory'
      ? 'in memory (set REDIS_URL or DATABASE_URL to keep them in Redis or PostgreSQL)'
      : facts.store.kind === 'postgres'
        ? `PostgreSQL at ${redactStoreUrl(facts.store.url)}, table personal_tokens`
        : `Redis at ${redactStoreUrl(facts.store.url)}, key prefix ${facts.store.keyPrefix}`;
  const lines = [
    'personal-token-auth example app',
    `  REST:    ${baseUrl}/api/`,
    `  WebDAV:  ${baseUrl}/dav/`,
    `  browser: ${baseUrl}/settings/tokens (sign in as ${login}, password ${DEMO_PASSWORD})`,
    `  files:   ${facts.filesDir}${facts.filesAreTemporary ? ' (a fresh demo tree, deleted on exit)' : ''}`,
    `  tokens:  ${store}`,
    '  users:   admin, alice, carol (disabled: her tokens are refused)',
    '',
  ];
  if (facts.demoToken) {
    lines.push(
      `Token for ${facts.demoToken.login}, shown once (it expires in ${facts.demoToken.expiresIn} or when this process exits):`,
      `  export TOKEN=${facts.demoToken.token}`,
    );
  } else if (facts.store.kind === 'redis') {
    lines.push(
      'Create a token with the CLI (it reads the same Redis), and put it in TOKEN:',
      `  export TOKEN=$(npx personal-token ${cliOptions(facts.store)}create -u ${login} -e 1h -q)`,
    );
  } else if (facts.store.kind === 'postgres') {
    lines.push(
      'Create a token with the CLI (it reads the same database), and put it in TOKEN:',
      `  export TOKEN=$(npx personal-token --postgres '${redactStoreUrl(facts.store.url)}' create -u ${login} -e 1h -q)`,
    );
  }
  const bearer = '"Authorization: Bearer $TOKEN"';
  lines.push(
    '',
    'Try it:',
    `  curl -H ${bearer} ${baseUrl}/api/me`,
    `  curl -H ${bearer} '${baseUrl}/api/nodes?path=/docs'`,
  );
  if (facts.readmeUuid) lines.push(`  curl -H ${bearer} ${baseUrl}/api/nodes/${facts.readmeUuid}`);
  lines.push(
    `  curl -u ${login}:"$TOKEN" -X PROPFIND -H 'Depth: 1' ${baseUrl}/dav/docs/`,
    `  rclone ls :webdav: --webdav-url ${baseUrl}/dav/ --webdav-user ${login} --webdav-pass "$(rclone obscure "$TOKEN")"`,
    '',
  );
  return lines.join('\n');
}
