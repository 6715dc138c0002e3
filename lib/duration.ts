import { InvalidDurationError } from './errors';
import { quoteInput } from './quote-input';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

// The seed's format: a whole count followed by one unit letter, nothing else. Cells parses `1.5d`
// as zero and silently issues a token that never works; here anything outside the grammar throws.
const DURATION = /^([1-9][0-9]{0,15})([smhd])$/;

const ACCEPTED = 'a whole number followed by s, m, h or d (e.g. 20s, 10m, 24h, 7d)';
// Only a number (in code) is read as milliseconds; the string '600000' is refused, so say which is which.
const ACCEPTED_NUMBER = 'a positive whole number of milliseconds';

/** Parses `'20s' | '10m' | '24h' | '7d'`, or a positive whole number of milliseconds, into milliseconds. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input) && input > 0) return input;
    throw new InvalidDurationError(
      `Invalid duration ${String(input)}: expected ${ACCEPTED_NUMBER}, or ${ACCEPTED}`,
    );
  }
  const match = typeof input === 'string' ? DURATION.exec(input) : null;
  if (!match) {
    throw new InvalidDurationError(
      `Invalid duration ${quoteInput(input)}: expected ${ACCEPTED}${typeof input === 'string' ? '' : `, or ${ACCEPTED_NUMBER}`}`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as Unit];
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
