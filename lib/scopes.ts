import { InvalidScopeError } from './errors';
import { quoteInput } from './quote-input';
import { DEFAULT_TOKEN_PREFIX, tokenLikeText } from './token-format';

/** `r` read, `w` write, `rw` both. `w` does not imply `r`: an upload-only token is a real use. */
export type Permission = 'r' | 'w' | 'rw';

/** A node's ancestors (any order), so that a scope on a folder covers what is below it. */
export type ResolveAncestors = (nodeId: string) => readonly string[] | Promise<readonly string[]>;

/** One `node:<NODE_ID>:<PERMISSION>` scope: the node and everything below it. */
export interface Scope {
  nodeId: string;
  permission: Permission;
}

const GRAMMAR = 'node:<NODE_ID>:<PERMISSION> with PERMISSION r, w or rw (e.g. node:3f2a9c1e-…:r)';

/**
 * The scope that lets a token ask about other tokens (`introspectionRouter`). It names no node, so it
 * grants no node access: a token with only this scope reaches no node at all. Only `issue()` (the
 * CLI, the app's administrators) grants it, never a token or a user for themselves (see
 * `assertGrantableByCaller`): knowing which tokens are live is a service's business.
 */
export const INTROSPECT_SCOPE = 'introspect';
// Node ids are opaque to the library (Cells uses UUIDs). `:` would make the grammar ambiguous and
// `,` would break the CLI's comma-separated lists, so neither is allowed; nor is white space.
const SCOPE = /^node:([^\s:,]{1,200}):([a-z]{1,2})$/;
const PERMISSIONS: Record<string, Permission> = { r: 'r', w: 'w', rw: 'rw', wr: 'rw' };
// A scope is stored in clear, listed, and sent upstream (X-Auth-Scopes): a node id must not be able
// to hold a token. Any prefix's token holds a secret-sized run, which this catches; the default
// prefix is caught with its id alone.
const tokenLike = tokenLikeText(DEFAULT_TOKEN_PREFIX);

/** Parses a scope, accepting `wr` for `rw`. Anything else throws: Cells reads permissions by substring, so `edit` grants nothing and `write` grants read; here both are errors. */
export function parseScope(text: string): Scope {
  const match = typeof text === 'string' ? SCOPE.exec(text) : null;
  const permission = match ? PERMISSIONS[match[2]!] : undefined;
  if (!match || !permission) {
    throw new InvalidScopeError(`Invalid scope ${quoteInput(text)}: expected ${GRAMMAR}`);
  }
  if (tokenLike(match[1]!)) {
    throw new InvalidScopeError(
      'Invalid scope: its node id could hold a token (not repeated); a node id is an id such as a UUID',
    );
  }
  return { nodeId: match[1]!, permission };
}

export function formatScope(scope: Scope): string {
  return `node:${scope.nodeId}:${scope.permission}`;
}

/** One scope of a token, normalised: a node scope (`wr` → `rw`), or `introspect`. Anything else throws. */
export function normaliseScope(scope: string | Scope): string {
  if (scope === INTROSPECT_SCOPE) return INTROSPECT_SCOPE;
  return formatScope(typeof scope === 'string' ? parseScope(scope) : parseScope(formatScope(scope)));
}

/** Parses and normalises a list of scopes (strings or objects), dropping exact duplicates. */
export function normaliseScopes(scopes: readonly (string | Scope)[]): string[] {
  if (!Array.isArray(scopes)) throw new InvalidScopeError(`scopes must be an array of ${GRAMMAR}`);
  return [...new Set(scopes.map(normaliseScope))];
}

/** The scopes that name nodes, without `introspect`: what node access a token's scopes narrow it to. */
export function nodeScopes(scopes: readonly string[]): readonly string[] {
  return scopes.includes(INTROSPECT_SCOPE) ? scopes.filter((scope) => scope !== INTROSPECT_SCOPE) : scopes;
}

/** What a list of scopes grants on each node it names, parsed once to check many nodes against. */
export type ScopeGrants = ReadonlyMap<string, { read: boolean; write: boolean }>;

export function scopeGrants(scopes: readonly string[]): ScopeGrants {
  const grants = new Map<string, { read: boolean; write: boolean }>();
  for (const text of nodeScopes(scopes)) {
    const { nodeId, permission } = parseScope(text);
    const grant = grants.get(nodeId) ?? { read: false, write: false };
    grant.read ||= permission !== 'w';
    grant.write ||= permission !== 'r';
    grants.set(nodeId, grant);
  }
  return grants;
}

/**
 * Whether scopes allow `permission` on a node, given the node's ancestors (nearest first or in any
 * order). No scopes means the token is not narrowed at all; `introspect` alone narrows it to no node. A scope on an ancestor covers the
 * descendants; permissions from several matching scopes add up (`r` on a folder + `w` on a file in it
 * = `rw` on that file).
 */
export function scopesAllow(
  scopes: readonly string[],
  nodeId: string,
  ancestors: readonly string[],
  permission: Permission,
): boolean {
  return scopes.length === 0 || grantsAllow(scopeGrants(scopes), nodeId, ancestors, permission);
}

/** `scopesAllow` for scopes already parsed with `scopeGrants` (which must not be empty). */
export function grantsAllow(
  grants: ScopeGrants,
  nodeId: string,
  ancestors: readonly string[],
  permission: Permission,
): boolean {
  let read = false;
  let write = false;
  for (const node of [nodeId, ...ancestors]) {
    const grant = grants.get(node);
    read ||= grant?.read ?? false;
    write ||= grant?.write ?? false;
  }
  if (permission === 'r') return read;
  if (permission === 'w') return write;
  return read && write;
}
