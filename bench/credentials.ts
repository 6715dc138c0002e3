// The seeded credentials, handed from the seeder to the load generator through files in a private
// temp dir (0700, removed when the harness exits): tokens never appear on a command line, in the
// environment, in the output or in results.json.
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Credential {
  login: string;
  token: string;
}

/** One `login<TAB>token` per line. */
export function writeCredentials(file: string, credentials: Credential[]): void {
  let text = '';
  for (const { login, token } of credentials) text += `${login}\t${token}\n`;
  writeFileSync(file, text, { mode: 0o600 });
}

export async function readCredentials(file: string): Promise<Credential[]> {
  const credentials: Credential[] = [];
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    const tab = line.indexOf('\t');
    if (tab > 0) credentials.push({ login: line.slice(0, tab), token: line.slice(tab + 1) });
  }
  return credentials;
}

/** One JWT per line. */
export function writeLines(file: string, lines: string[]): void {
  writeFileSync(file, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
}

export async function readLines(file: string): Promise<string[]> {
  const out: string[] = [];
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) if (line.length > 0) out.push(line);
  return out;
}
