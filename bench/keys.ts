// What the seeder writes and the servers read: key shapes, the route, the sliding window.
// One place, so the seeded data and the servers cannot drift apart.

/** Every server serves this one small JSON route: `{"user":"<login>"}`. */
export const ROUTE = '/me';

/** Server 2's keys: `GET <prefix><token>` -> login. The floor: nothing but one round trip. */
export const RAW_KEY_PREFIX = 'bench:raw:';

/** Server 5's keys: `GET <prefix><token>` -> JSON user, then `PEXPIRE` (the hand-written sliding expiry). */
export const NAIVE_KEY_PREFIX = 'bench:naive:';

/** The sliding window of every seeded token (the library's `autoRefresh`, server 5's PEXPIRE). */
export const SLIDING_WINDOW = '30d';
export const SLIDING_WINDOW_MS = 30 * 24 * 3600 * 1000;

/** The hard limit of the library's tokens (`expiresIn`); server 6's JWTs live this long too. */
export const HARD_LIMIT = '365d';
export const HARD_LIMIT_SECONDS = 365 * 24 * 3600;
