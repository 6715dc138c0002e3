/**
 * How the CLI fails. Every failure is one line on stderr and an exit code a script can branch on:
 * 2 for a command line that cannot work (nothing was sent to the store), 1 for a refusal or an
 * outage. Messages never contain a token: the token exists only on stdout at creation.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command line itself is wrong. The program adds the command's accepted form to the message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command was well formed but could not be carried out (unknown id, unknown user, store down...). */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
}

/**
 * The library's errors that mean "this command line cannot work" (see lib/errors.ts). Matched by
 * `code` rather than `instanceof`, so that a config file importing another copy of the library
 * (dist/ rather than lib/) is still understood. Every other library error (unknown user, scope not
 * allowed, token limit...) is a refusal: its message, exit 1.
 */
const USAGE_CODES = new Set([
  'ERR_INVALID_DURATION',
  'ERR_INVALID_SCOPE',
  'ERR_INVALID_TOKEN_OPTIONS',
  // The store asked for needs a package that is not installed (ioredis, pg).
  'ERR_MISSING_DEPENDENCY',
]);

export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

export function isLibraryUsageError(error: unknown): boolean {
  return USAGE_CODES.has(errorCode(error) ?? '');
}

/**
 * The app's policy refused the token asked for (too many live tokens, scopes, too long an expiry or
 * window): the command line cannot work as it is, though its syntax is right.
 */
const POLICY_CODES = new Set([
  'ERR_TOKEN_LIMIT',
  'ERR_TOO_MANY_SCOPES',
  'ERR_EXPIRY_TOO_LONG',
  'ERR_WINDOW_TOO_LONG',
]);

export function isPolicyRefusal(error: unknown): boolean {
  return POLICY_CODES.has(errorCode(error) ?? '');
}

export function isStoreUnavailable(error: unknown): boolean {
  return errorCode(error) === 'ERR_STORE_UNAVAILABLE';
}

/** One line, whatever the error: a multi-line message (commander's suggestions, a driver's dump) is
 * folded so that the "exactly one line on stderr" promise holds. */
export function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
}

export function messageOf(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}
