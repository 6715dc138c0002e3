import { MAX_LOGIN } from '../check/token-checker';
import { parseDuration } from '../duration';
import { InvalidTokenOptionsError } from '../errors';
import { normaliseScopes, type ResolveAncestors, type Scope } from '../scopes';
import type { Caller } from './caller-bounds';

// What an issue, an issue for a caller and a rotation may ask for, and how each is read and checked
// before anything is looked up.

export interface IssueOptions {
  /** Login of the owner. */
  user: string;
  /** Hard limit (`-e`): `'24h'`, `'7d'`... or ms. */
  expiresIn?: string | number;
  /** Sliding window (`-a`), pushed forward on each use; capped by `expiresIn` when both are set. */
  autoRefresh?: string | number;
  /** `node:<NODE_ID>:r|w|rw`; none = the user's full access. */
  scopes?: readonly (string | Scope)[];
  /** Free text to tell tokens apart in lists. */
  label?: string;
}

/** What `issueFor` takes besides the caller. */
export interface IssueForOptions extends Omit<IssueOptions, 'user'> {
  /** The owner. Default: the caller's login. */
  user?: string;
  /** A node's ancestors, for a scoped caller: the middleware's `resolveAncestors`. */
  resolveAncestors?: ResolveAncestors;
}

export interface RotateOptions {
  /** How long the old token keeps working (`'1h'`, or ms). Default 0: it stops at once. */
  overlap?: string | number;
  /**
   * Who asks (see `issueFor`): a personal token may rotate only what it could have made, and no caller
   * a token with a scope only `issue()` grants (`introspect`). Without it, the caller is the app itself.
   */
  caller?: Caller;
  /** A node's ancestors, for a scoped caller: the middleware's `resolveAncestors`. */
  resolveAncestors?: ResolveAncestors;
}

export const MAX_LABEL = 200;
// Control characters would corrupt table output and logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The login of a caller: given as such, or the one its token info names. */
export function callerLogin(caller: Caller): string | undefined {
  if (typeof caller === 'string') return caller.length > 0 ? caller : undefined;
  return typeof caller?.login === 'string' ? caller.login : undefined;
}

export function validateIssue(
  options: IssueOptions,
  tokenLike: (text: string) => boolean,
): {
  user: string;
  label: string | null;
  hardLimit: number | null;
  window: number | null;
  scopes: string[];
} {
  const { user } = options ?? ({} as IssueOptions);
  if (typeof user !== 'string' || user.length === 0 || user.length > MAX_LOGIN || CONTROL.test(user)) {
    throw new InvalidTokenOptionsError('user must be a non-empty login without control characters');
  }
  const label = options.label ?? null;
  if (label !== null && !isValidLabel(label, tokenLike)) {
    throw new InvalidTokenOptionsError(
      `label must be text of at most ${MAX_LABEL} characters, without control characters or a token`,
    );
  }
  if (options.expiresIn === undefined && options.autoRefresh === undefined) {
    throw new InvalidTokenOptionsError(
      'A token needs expiresIn (hard limit, -e), autoRefresh (sliding window, -a), or both',
    );
  }
  return {
    user,
    label,
    hardLimit: options.expiresIn === undefined ? null : parseDuration(options.expiresIn),
    window: options.autoRefresh === undefined ? null : parseDuration(options.autoRefresh),
    scopes: normaliseScopes(options.scopes ?? []),
  };
}

/**
 * Labels are free text, short, without control characters (they end up in tables and logs) and
 * without anything that could be a token (`tokenLike`: a label is stored in clear and listed).
 */
export function isValidLabel(label: unknown, tokenLike: (text: string) => boolean): label is string {
  return typeof label === 'string' && label.length <= MAX_LABEL && !CONTROL.test(label) && !tokenLike(label);
}

/** The overlap of a rotation, in ms: 0 (none) or a duration. */
export function parseOverlap(overlap: string | number): number {
  return overlap === 0 || overlap === '0' ? 0 : parseDuration(overlap);
}
