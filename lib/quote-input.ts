import { DEFAULT_TOKEN_PREFIX, tokenLikeText } from './token-format';

const tokenLike = tokenLikeText(DEFAULT_TOKEN_PREFIX);

/**
 * An input quoted for an error message, so that the user sees what was wrong, unless it could hold
 * a token (pasted into the wrong field): error messages reach HTTP bodies, terminals and logs, and
 * must never carry a secret. Tokens of another prefix are caught by the length of their secret.
 */
export function quoteInput(input: unknown): string {
  const quoted = JSON.stringify(input) ?? String(input);
  return tokenLike(quoted) ? '(a value that could be a token, not repeated)' : quoted;
}
