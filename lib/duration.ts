import { InvalidDurationError } from './errors';
import { quoteInput } from './quote-input';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

// A whole count followed by one unit letter, or a bare whole count of milliseconds; nothing else.
// A lenient parser that reads `1.5d` as zero silently issues a token that never works: here anything
// outside the grammar throws. The same rule holds for the API, the router's JSON and the CLI's flags:
// `600000`, `'600000'` and `-e 600000` are all ten minutes.
const DURATION = /^([1-9][0-9]{0,15})(ms|[smhd])?$/;

/**
 * The longest delay a Node timer keeps (2^31 - 1 ms, about 24.8 days): a longer one fires at once
 * (Node clamps it to 1 ms), so a timeout option past it would fail every call it guards.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const ACCEPTED_DURATION =
  'a whole number followed by s, m, h or d (e.g. 20s, 10m, 24h, 7d), or a whole number of milliseconds';

/** Parses `'20s' | '10m' | '24h' | '7d'`, or a positive whole number of milliseconds (`600000` or `'600000'`). */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input) && input > 0) return input;
    throw new InvalidDurationError(`Invalid duration ${String(input)}: expected ${ACCEPTED_DURATION}`);
  }
  const match = typeof input === 'string' ? DURATION.exec(input) : null;
  if (!match) {
    throw new InvalidDurationError(`Invalid duration ${quoteInput(input)}: expected ${ACCEPTED_DURATION}`);
  }
  const unit = match[2];
  const ms = Number(match[1]) * (unit === undefined || unit === 'ms' ? 1 : UNIT_MS[unit as Unit]);
  if (!Number.isSafeInteger(ms)) throw new InvalidDurationError(`Duration ${input} is too long`);
  return ms;
}

/** Formats milliseconds in the largest unit that divides them exactly: 600000 → `10m`, 1500 → `1500ms`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Milliseconds for a person to read, in at most two units, rounded down to the second:
 * 3541631 → `59m 1s`, 90000000 → `1d 1h`, 1500 → `1s`. For lengths that are seldom exact, such as
 * what is left of a rotated token's life; `formatDuration` is for values that must read back exactly.
 */
export function describeDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.floor(ms))}ms`;
  const parts: string[] = [];
  let rest = Math.floor(ms / 1_000) * 1_000;
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    rest -= count * UNIT_MS[unit];
    if (count > 0 || parts.length > 0) parts.push(`${count}${unit}`);
    if (parts.length === 2) break;
  }
  return parts.filter((part) => !part.startsWith('0')).join(' ');
}
