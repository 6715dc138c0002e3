// Garbage for the flood: tokens that must be turned away without asking Redis anything. Derived
// from real tokens (`pat_` + 16 hex id + 43 base64url secret + 6 base62 checksum, see CONTRACT), so
// half are perfectly shaped and only their checksum gives them away.
import { randomBytes } from 'node:crypto';
import type { Credential } from './credentials';

const PREFIX_LENGTH = 4;
const ID_LENGTH = 16;
const SECRET_LENGTH = 43;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function replaceAt(text: string, index: number, char: string): string {
  return text.slice(0, index) + char + text.slice(index + 1);
}

/** Another base64url character than the one at `index`. */
function mutateAt(text: string, index: number): string {
  const current = BASE64URL.indexOf(text[index] ?? 'A');
  return replaceAt(text, index, BASE64URL[(current + 1 + (index % 63)) % 64]!);
}

export type BadTokenKind = 'bad-checksum' | 'malformed';

/** The n-th bad token made from `token`: kinds alternate so every run mixes both evenly. */
export function badToken(token: string, n: number): { kind: BadTokenKind; token: string } {
  const secretStart = PREFIX_LENGTH + ID_LENGTH;
  switch (n % 6) {
    case 0: // a typo in the secret: right shape, wrong checksum
      return { kind: 'bad-checksum', token: mutateAt(token, secretStart + (n % SECRET_LENGTH)) };
    case 1: // a typo in the checksum itself
      return { kind: 'bad-checksum', token: mutateAt(token, token.length - 1 - (n % 6)) };
    case 2: // a typo in the id (still hex): right shape, wrong checksum
      return {
        kind: 'bad-checksum',
        token: replaceAt(token, PREFIX_LENGTH, token[PREFIX_LENGTH] === 'a' ? 'b' : 'a'),
      };
    case 3: // truncated while copying
      return { kind: 'malformed', token: token.slice(0, token.length - 1 - (n % 10)) };
    case 4: // another vendor's token
      return { kind: 'malformed', token: `ghp_${token.slice(PREFIX_LENGTH)}` };
    default: // random junk of random length
      return { kind: 'malformed', token: randomBytes(8 + (n % 64)).toString('base64url') };
  }
}

export function badBearerHeaders(credentials: Credential[], count: number): string[] {
  return Array.from({ length: count }, (_, n) => {
    const { token } = credentials[n % credentials.length]!;
    return `Bearer ${badToken(token, n).token}`;
  });
}

export function badBasicHeaders(credentials: Credential[], count: number): string[] {
  return Array.from({ length: count }, (_, n) => {
    const { login, token } = credentials[n % credentials.length]!;
    return `Basic ${Buffer.from(`${login}:${badToken(token, n).token}`).toString('base64')}`;
  });
}
