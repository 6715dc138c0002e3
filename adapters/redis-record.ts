import type { RecentIp, RevokedToken, StoredToken } from '../lib/store';

/**
 * How the Redis store writes a token into one string, and reads it back. The fields are separated by
 * tabs, in this order:
 *   T · secret hash · user · scopes (space-separated) · created · hard limit · window · last used · ip · label · recent IPs · ancestors
 * and a revoked token's tombstone is `R · user · revoked at`. Recent IPs are space-separated
 * `<last seen>,<ip>` entries, newest first (see `RecentIp`); a record without any has no such field,
 * unless it has ancestors (space-separated ids, parent first, see `StoredToken.ancestorIds`), which
 * come last, and only in a record that has some. The Lua scripts (redis-scripts.ts)
 * split on tabs too, and copy the user field from a record into its tombstone as it is.
 *
 * Every text field is escaped, so that it round-trips whatever it holds: `%` and the separators (tab,
 * and space inside a scope) become `%XX`, as do line breaks (a stored value stays one line for
 * whoever reads it with redis-cli). Numbers need no escaping. An empty field is null; an empty text
 * is a lone `%`, which no escaped text can be.
 */

// Which character each escape stands for; `%` first, so that the escapes themselves round-trip.
const ESCAPES: Record<string, string> = { '%': '%25', '\t': '%09', '\n': '%0A', '\r': '%0D', ' ': '%20' };
const UNESCAPES: Record<string, string> = Object.fromEntries(
  Object.entries(ESCAPES).map(([char, code]) => [code, char]),
);
const FIELD_SPECIALS = /[%\t\n\r]/g;
const SCOPE_SPECIALS = /[%\t\n\r ]/g;
const ESCAPED = /%(?:25|09|0A|0D|20)/g;
// An empty text (as opposed to none): a lone `%`, which no escaped text can be.
const EMPTY = '%';

/** A text field as stored: no tab or line break left in it. */
export function escapeField(text: string): string {
  return text.replace(FIELD_SPECIALS, (char) => ESCAPES[char]!);
}

/** A text that may be null, as stored: see `escapeField`. */
export function escapeOptional(text: string | null): string {
  if (text === null) return '';
  return text === '' ? EMPTY : escapeField(text);
}

/** A text inside a space-separated field (a scope, a recent IP), as stored: see `escapeField`. */
export function escapeScope(text: string): string {
  return text === '' ? EMPTY : text.replace(SCOPE_SPECIALS, (char) => ESCAPES[char]!);
}

function unescapeField(text: string): string {
  if (text === EMPTY) return '';
  // Every check reads a record: most fields hold no escape at all.
  return text.includes('%') ? text.replace(ESCAPED, (code) => UNESCAPES[code]!) : text;
}

export function encodeToken(token: StoredToken): string {
  const fields = [
    'T',
    token.secretHash,
    escapeField(token.user),
    token.scopes.map(escapeScope).join(' '),
    token.createdAt,
    token.hardExpiresAt ?? '',
    token.autoRefresh ?? '',
    token.lastUsedAt ?? '',
    escapeOptional(token.lastUsedIp),
    escapeOptional(token.label),
  ];
  // Without recent IPs, the record has the ten fields that app instances of earlier releases read,
  // so that a rolling upgrade without trackIp leaves every instance able to check every token.
  const ancestors = token.ancestorIds ?? [];
  if (token.recentIps.length > 0 || ancestors.length > 0) fields.push(encodeRecentIps(token.recentIps));
  // Likewise for a token no personal token made; a child token is unknown to an earlier release.
  if (ancestors.length > 0) fields.push(ancestors.map(escapeScope).join(' '));
  return fields.join('\t');
}

/** Recent IPs as the record's field holds them (see the format above); also the scripts' pending addresses. */
export function encodeRecentIps(recent: readonly RecentIp[]): string {
  return recent.map((entry) => `${entry.lastSeenAt},${escapeScope(entry.ip)}`).join(' ');
}

/** The recent IPs field as stored (see the format above): an entry that is not one is skipped. */
export function decodeRecentIps(field: string | undefined): RecentIp[] {
  if (!field) return [];
  const recent: RecentIp[] = [];
  for (const entry of field.split(' ')) {
    const comma = entry.indexOf(',');
    const lastSeenAt = Number(entry.slice(0, comma));
    if (comma > 0 && Number.isSafeInteger(lastSeenAt)) {
      recent.push({ ip: unescapeField(entry.slice(comma + 1)), lastSeenAt });
    }
  }
  return recent;
}

const optionalNumber = (text: string | undefined) => (text ? Number(text) : null);
const optionalText = (text: string | undefined) => (text ? unescapeField(text) : null);

/**
 * Reads a stored value: a record, a tombstone, or null (none, or not a value this store wrote).
 * `expiresAt` is what the caller knows of the key's expiry; it is capped by the hard limit.
 */
export function decodeToken(
  id: string,
  value: string | null,
  expiresAt: number,
): StoredToken | RevokedToken | null {
  if (value === null) return null;
  const fields = value.split('\t');
  if (fields[0] === 'R' && fields.length === 3) {
    return { id, user: unescapeField(fields[1]!), revokedAt: Number(fields[2]) };
  }
  if (fields[0] !== 'T' || fields.length < 10 || fields.length > 12) return null;
  const hardExpiresAt = optionalNumber(fields[5]);
  return {
    id,
    secretHash: fields[1]!,
    user: unescapeField(fields[2]!),
    scopes: fields[3] ? fields[3].split(' ').map(unescapeField) : [],
    createdAt: Number(fields[4]),
    // Never past the hard limit, whatever the clocks say.
    expiresAt: Math.min(expiresAt, hardExpiresAt ?? Number.POSITIVE_INFINITY),
    hardExpiresAt,
    autoRefresh: optionalNumber(fields[6]),
    lastUsedAt: optionalNumber(fields[7]),
    lastUsedIp: optionalText(fields[8]),
    label: optionalText(fields[9]),
    recentIps: decodeRecentIps(fields[10]),
    ancestorIds: fields[11] ? fields[11].split(' ').map(unescapeField) : [],
  };
}
