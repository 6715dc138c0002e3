import { describeDuration } from '../lib/duration';
import type { TokenJson } from '../lib/http/token-json';
import { formatDuration, type IssuedToken, type TokenInfo } from '../lib/index';

/**
 * Everything the CLI prints about tokens. Built from TokenInfo field by field, never by spreading an
 * IssuedToken, so no output but `create`'s stdout can ever contain the token itself. Times are UTC.
 */

/** `2025-11-27 20:31:05Z`: sortable, unambiguous, and shorter than toISOString(). */
export function formatTime(date: Date): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Labels, logins and file names come from whoever made them: no control character reaches the
 * terminal, nor a line separator or a bidirectional override (which shows a name backwards).
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escaped);
}

/**
 * JSON for a terminal as much as for a program: `JSON.stringify` leaves C1 controls (U+009B is a
 * CSI to many terminals), line separators and bidirectional overrides raw; here they are escaped
 * too, which reads back as the same value.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNESCAPED_BY_JSON, escaped);
}

const escaped = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// The same but C0, which JSON.stringify escapes in strings (and whose `\n` lays out the JSON).
const UNESCAPED_BY_JSON = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `hard`, `sliding 10m`, or `sliding 10m, cap <time>`. */
export function expiryMode(info: TokenInfo): string {
  if (info.autoRefresh === null) return 'hard';
  const sliding = `sliding ${formatDuration(info.autoRefresh)}`;
  return info.hardExpiresAt === null ? sliding : `${sliding}, cap ${formatTime(info.hardExpiresAt)}`;
}

function scopeText(info: TokenInfo): string {
  return info.scopes.length === 0 ? '(full access)' : info.scopes.join(',');
}

/** What stderr says after `create`: who, until when, what, and that the token will not be shown again. */
export function describeIssued(issued: IssuedToken): string {
  const label = issued.label === null ? '' : `, label "${printable(issued.label)}"`;
  const lines = [`Token ${issued.id} for user "${printable(issued.user)}"${label}.`];
  if (issued.autoRefresh === null) {
    const lifetime = describeDuration(issued.expiresAt.getTime() - issued.createdAt.getTime());
    lines.push(`Expires ${formatTime(issued.expiresAt)} (hard limit, ${lifetime} after creation).`);
  } else {
    const window = formatDuration(issued.autoRefresh);
    const cap =
      issued.hardExpiresAt === null
        ? 'with no cap'
        : `but never after ${formatTime(issued.hardExpiresAt)} (cap ${describeDuration(issued.hardExpiresAt.getTime() - issued.createdAt.getTime())})`;
    lines.push(`Sliding expiry: valid ${window} after its last use, ${cap}.`);
    lines.push(`Expires ${formatTime(issued.expiresAt)} unless used before.`);
  }
  lines.push(
    issued.scopes.length === 0
      ? `Scopes: none, the token has the full access of "${printable(issued.user)}".`
      : `Scopes: ${issued.scopes.join(', ')}.`,
  );
  lines.push('This token is shown only once and cannot be retrieved later: store it now.');
  return lines.join('\n') + '\n';
}

const COLUMNS = [
  'ID',
  'LABEL',
  'SCOPES',
  'EXPIRY',
  'EXPIRES AT',
  'CREATED AT',
  'LAST USED',
  'PARENT',
] as const;

export function formatTable(tokens: readonly TokenInfo[]): string {
  return formatColumns(
    COLUMNS,
    tokens.map((info) => [
      info.id,
      info.label === null ? '-' : printable(info.label),
      scopeText(info),
      expiryMode(info),
      formatTime(info.expiresAt),
      formatTime(info.createdAt),
      info.lastUsedAt === null ? 'never' : formatTime(info.lastUsedAt),
      info.parentId ?? '-',
    ]),
  );
}

/** Rows under their headings, each column as wide as its widest cell. */
function formatColumns(headings: readonly string[], rows: string[][]): string {
  const all = [[...headings], ...rows];
  const widths = headings.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => line + '\n')
    .join('');
}

const EXPIRING_COLUMNS = ['HARD LIMIT', 'ID', 'USER', 'LABEL', 'LAST USED'] as const;

/** `expiring`'s table: when each token stops working, soonest first, and whose it is. */
export function formatExpiringTable(tokens: readonly TokenInfo[]): string {
  return formatColumns(
    EXPIRING_COLUMNS,
    tokens.map((info) => [
      info.hardExpiresAt === null ? '-' : formatTime(info.hardExpiresAt),
      info.id,
      printable(info.user),
      info.label === null ? '-' : printable(info.label),
      info.lastUsedAt === null ? 'never' : formatTime(info.lastUsedAt),
    ]),
  );
}

export function formatDetails(info: TokenInfo): string {
  const fields: [string, string][] = [
    ['id', info.id],
    ['user', printable(info.user)],
    ['label', info.label === null ? '-' : printable(info.label)],
    ['scopes', info.scopes.length === 0 ? '(full access)' : info.scopes.join(', ')],
    ['expiry', expiryMode(info)],
    ['expires at', formatTime(info.expiresAt)],
    ['created at', formatTime(info.createdAt)],
    ['last used', info.lastUsedAt === null ? 'never' : formatTime(info.lastUsedAt)],
  ];
  // Revoking the parent revokes this token too (a child token).
  if (info.parentId !== null) fields.push(['parent', info.parentId]);
  // Recorded only when the app opts in (trackIp).
  if (info.lastUsedIp !== null) fields.push(['last used from', printable(info.lastUsedIp)]);
  for (const [i, entry] of info.recentIps.entries()) {
    fields.push([i === 0 ? 'recent IPs' : '', `${printable(entry.ip)}  ${formatTime(entry.lastSeenAt)}`]);
  }
  const width = Math.max(...fields.map(([name]) => name.length));
  return fields.map(([name, value]) => `${name.padEnd(width)}  ${value}\n`).join('');
}

/** `--json`: the library's public JSON record of a token (never secret material). */
export function formatJson(value: TokenJson | TokenJson[]): string {
  return JSON.stringify(value, null, 2) + '\n';
}
