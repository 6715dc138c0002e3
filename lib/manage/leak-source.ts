import { InvalidTokenOptionsError } from '../errors';
import { checkOptions, optionNames } from '../option-names';

/** What `TokenService.revokeLeaked` takes besides the text. */
export interface RevokeLeakedOptions {
  /**
   * Where the token was found: a URL, a path, `'leak-report'`... Free text from whoever reported
   * the leak, so it goes into the `leaked` event only bounded (`MAX_LEAK_SOURCE` characters) and
   * without control characters or anything token-shaped.
   */
  source: string;
}

/** What `revokeLeaked` did: revoked the live token, found it revoked before, or found no token. */
export type LeakVerdict = 'revoked' | 'already-revoked' | 'unknown';

export const REVOKE_LEAKED_OPTION_NAMES = optionNames<RevokeLeakedOptions>({ source: true });

/** How much of a leak's source an event carries: a long URL fits, a flood does not. */
export const MAX_LEAK_SOURCE = 1024;

// C0 and C1 controls, line and paragraph separators, and the bidirectional overrides and isolates:
// each can forge a line or hide text in a log or a terminal that shows the event.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The `source` of `revokeLeaked`'s options as the `leaked` event carries it. A reporter is anyone
 * (an unauthenticated form, an alert), so the text may be hostile: a token of this prefix in it (the
 * leaked one pasted as its own source, say) is cut out, as are characters that could inject a line
 * into a log, and it is bounded. Throws for options that are not `{ source: string }`.
 */
export function leakSource(options: RevokeLeakedOptions, tokenPrefix: string): string {
  checkOptions('revokeLeaked', options, REVOKE_LEAKED_OPTION_NAMES);
  const { source } = options;
  if (typeof source !== 'string') {
    throw new InvalidTokenOptionsError('revokeLeaked: source must be text saying where the token was found');
  }
  // The prefix is letters, digits, `_` and `-` (`assertTokenPrefix`): nothing in it needs escaping.
  // Anything from the prefix and an id on is cut, in any case, as `tokenLikeText` would refuse it;
  // so is an id followed by a secret's worth of its characters (a token without its prefix).
  const tokenShaped = new RegExp(
    `${tokenPrefix}[0-9a-f]{16}[A-Za-z0-9_-]*|[0-9a-f]{16}[A-Za-z0-9_-]{43,}`,
    'gi',
  );
  const safe = source
    .slice(0, 4 * MAX_LEAK_SOURCE)
    .replace(UNSAFE, '')
    .replace(tokenShaped, '[token]');
  return wellFormed(safe.slice(0, MAX_LEAK_SOURCE));
}

/** Text with any lone surrogate (a cut pair, or one sent as such) replaced, so JSON sinks take it. */
function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
