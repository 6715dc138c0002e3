import { formatDuration, parseDuration } from '../duration';
import { TokenPolicyError } from '../errors';

/**
 * The app's policy for the tokens it lets users make. Every limit has a safe default; `Infinity`
 * lifts one (a hard limit and a window then stop only at what the token format can carry, about 89
 * years).
 */
export interface TokenLimits {
  /** The most live tokens one user may have. Default 100. */
  maxTokensPerUser: number;
  /** The most scopes one token may carry. Default 50: each scope costs every check that reads it. */
  maxScopesPerToken: number;
  /**
   * The longest hard limit (`expiresIn`), in ms. Default 366 days, as GitHub's longest policy for
   * fine-grained tokens and a little over GitLab's 365-day maximum lifetime. A sliding token without
   * a hard limit is bounded by `maxAutoRefresh` instead: it dies after that long unused.
   */
  maxExpiresIn: number;
  /** The longest sliding window (`autoRefresh`), in ms: how long a token may lie unused. Default 30 days. */
  maxAutoRefresh: number;
}

const DAY = 86_400_000;

export const DEFAULT_TOKEN_LIMITS: Readonly<TokenLimits> = Object.freeze({
  maxTokensPerUser: 100,
  maxScopesPerToken: 50,
  maxExpiresIn: 366 * DAY,
  maxAutoRefresh: 30 * DAY,
});

/** The limits as given to `TokenService` (durations as `'366d'` or ms); a TypeError for a wrong one. */
export function parseTokenLimits(options: {
  maxTokensPerUser?: number;
  maxScopesPerToken?: number;
  maxExpiresIn?: string | number;
  maxAutoRefresh?: string | number;
}): TokenLimits {
  return {
    maxTokensPerUser: count('maxTokensPerUser', options.maxTokensPerUser),
    maxScopesPerToken: count('maxScopesPerToken', options.maxScopesPerToken),
    maxExpiresIn: duration('maxExpiresIn', options.maxExpiresIn),
    maxAutoRefresh: duration('maxAutoRefresh', options.maxAutoRefresh),
  };
}

/** What a new token would be: its scopes, and its hard limit and window as durations from now. */
export interface RequestedTerms {
  scopes: readonly string[];
  /** ms from now to the hard limit, or null for none. */
  hardLimit: number | null;
  /** Sliding window in ms, or null for none. */
  window: number | null;
}

/** Throws `TokenPolicyError`, naming the limit, for a token the policy does not allow. */
export function assertWithinLimits(limits: TokenLimits, terms: RequestedTerms): void {
  if (terms.scopes.length > limits.maxScopesPerToken) {
    throw new TokenPolicyError(
      'ERR_TOO_MANY_SCOPES',
      `A token may carry at most ${limits.maxScopesPerToken} scopes (maxScopesPerToken); this one has ${terms.scopes.length}`,
    );
  }
  if (terms.hardLimit !== null && terms.hardLimit > limits.maxExpiresIn) {
    throw new TokenPolicyError(
      'ERR_EXPIRY_TOO_LONG',
      `A token may expire at most ${formatDuration(limits.maxExpiresIn)} from now (maxExpiresIn); this one would in ${formatDuration(terms.hardLimit)}`,
    );
  }
  if (terms.window !== null && terms.window > limits.maxAutoRefresh) {
    throw new TokenPolicyError(
      'ERR_WINDOW_TOO_LONG',
      `A sliding window may be at most ${formatDuration(limits.maxAutoRefresh)} (maxAutoRefresh); this one is ${formatDuration(terms.window)}`,
    );
  }
}

function count(name: keyof TokenLimits, value: number | undefined): number {
  if (value === undefined) return DEFAULT_TOKEN_LIMITS[name];
  if (value === Number.POSITIVE_INFINITY || (Number.isSafeInteger(value) && value > 0)) return value;
  throw new TypeError(`${name} must be a positive whole number, or Infinity for no limit`);
}

function duration(name: keyof TokenLimits, value: string | number | undefined): number {
  if (value === undefined) return DEFAULT_TOKEN_LIMITS[name];
  if (value === Number.POSITIVE_INFINITY) return value;
  try {
    return parseDuration(value);
  } catch {
    throw new TypeError(
      `${name} must be a duration such as '366d' or a positive whole number of ms, or Infinity for no limit (got ${JSON.stringify(value)})`,
    );
  }
}
