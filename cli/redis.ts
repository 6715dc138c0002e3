import type { Redis } from 'ioredis';
import { requireOptional } from '../lib/optional-dependency';
import { UsageError } from './errors';

/**
 * The CLI's own Redis connection. An app's client may retry for ever; a command typed by a person or
 * run by a script must give up fast instead: one attempt, a 1 s connect timeout, a 1 s command
 * timeout, no reconnection. Lazy, so that a command rejected before reaching the store (bad usage)
 * never opens a connection at all.
 */
const TIMEOUT_MS = 1_000;

export function assertRedisUrl(url: string, origin: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new UsageError(
      `${origin} is not a URL: expected redis://[user:password@]host[:port][/db] or rediss://...`,
    );
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new UsageError(`${origin} must use redis:// or rediss:// (got ${protocol}//)`);
  }
}

export interface RedisConnectionOptions {
  /** Reconnect after a lost connection (a server that runs for days), still failing each command fast meanwhile. */
  reconnect?: boolean;
}

export function openRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  // ioredis is an optional peer dependency: a CLI that only ever uses PostgreSQL needs none.
  const { Redis } = requireOptional<typeof import('ioredis')>('ioredis', 'the Redis store');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: TIMEOUT_MS,
    commandTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: options.reconnect ? (attempt) => Math.min(attempt * 100, 2_000) : () => null,
    reconnectOnError: () => false,
  });
  // The failure is reported once, by the command that needed Redis; without a listener ioredis would
  // also print its own "Unhandled error event" lines.
  client.on('error', () => {});
  return client;
}

/** The URL as it may be shown: a password in it is replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
