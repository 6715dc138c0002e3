import type { Redis } from 'ioredis';
import { RedisTokenStore } from '../adapters/redis';
import { DEFAULT_KEY_PREFIX, DEFAULT_REDIS_URL, TokenService, type TokenStore } from '../lib/index';
import { type CliConfig, loadConfig } from './config';
import { CommandFailure, messageOf, UsageError } from './errors';
import { assertPostgresUrl, type OpenedPostgres, openPostgres } from './postgres';
import { assertRedisUrl, openRedis, type RedisConnectionOptions, redactUrl } from './redis';

/** The global options, as typed on the command line (undefined = not given). */
export interface GlobalOptions {
  redis?: string;
  prefix?: string;
  /** A URL, or `true` / `''` for `--postgres` without one: then $DATABASE_URL. */
  postgres?: string | true;
  config?: string;
}

export interface OpenedTokens {
  tokens: TokenService;
  /** Names the store in messages, e.g. `Redis at redis://127.0.0.1:6379`; never contains a password. */
  where: string;
  /** What the config file exports (empty without one), for commands that need more than the service. */
  config: CliConfig;
  close(): Promise<void>;
}

const CONNECT_WITHIN_MS = 1_500;

/**
 * Builds the TokenService a command runs against, with the same defaults as `personalTokenAuth()`
 * (Redis at $REDIS_URL or redis://127.0.0.1:6379, key prefix `pat:`) unless the config or the global
 * options say otherwise. Called only once a command's own options are known to be valid.
 */
export async function openTokens(
  globals: GlobalOptions,
  env: Record<string, string | undefined>,
  cwd: string,
  connection: RedisConnectionOptions = {},
  announce?: (line: string) => void,
): Promise<OpenedTokens> {
  const { path, config } = await loadConfig(globals.config, cwd, env, announce);
  // What is left is the service's: the CLI's own options, serve-auth's included, are taken out.
  const {
    store: configStore,
    redisUrl,
    keyPrefix,
    postgresUrl,
    resolveNode: _resolveNode,
    resolveAncestors: _resolveAncestors,
    introspectionClients: _introspectionClients,
    ...serviceOptions
  } = config;
  let store: TokenStore;
  let where: string;
  let client: Redis | undefined;
  let postgres: OpenedPostgres | undefined;
  const postgresFrom =
    globals.postgres !== undefined
      ? postgresFromFlagOrEnv(globals.postgres, '--postgres', env)
      : postgresUrl !== undefined && globals.redis === undefined
        ? postgresFromFlagOrEnv(postgresUrl, `postgresUrl in ${path}`, env)
        : undefined;
  if (configStore !== undefined) {
    if (globals.redis !== undefined || globals.prefix !== undefined) {
      throw new UsageError(`--redis and --prefix do not apply: the config ${path} provides its own store`);
    }
    if (globals.postgres !== undefined) {
      throw new UsageError(`--postgres does not apply: the config ${path} provides its own store`);
    }
    store = configStore;
    where = `the token store of ${path}`;
  } else if (postgresFrom !== undefined) {
    if (globals.redis !== undefined || globals.prefix !== undefined) {
      throw new UsageError('--postgres and --redis/--prefix name two stores: give one');
    }
    const [url, origin] = postgresFrom;
    assertPostgresUrl(url, origin);
    postgres = await openPostgres(url);
    store = postgres.store;
    where = postgres.where;
  } else {
    const [url, origin] =
      globals.redis !== undefined
        ? [globals.redis, '--redis']
        : redisUrl !== undefined
          ? [redisUrl, `redisUrl in ${path}`]
          : env.REDIS_URL !== undefined && env.REDIS_URL !== '' // empty = unset, as redisUrlFromEnv()
            ? [env.REDIS_URL, '$REDIS_URL']
            : [DEFAULT_REDIS_URL, 'the default Redis URL'];
    assertRedisUrl(url, origin);
    const prefix = globals.prefix ?? keyPrefix ?? DEFAULT_KEY_PREFIX;
    if (prefix === '') throw new UsageError('--prefix must not be empty (default pat:)');
    where = `Redis at ${redactUrl(url)}`;
    client = openRedis(url, connection);
    await connectWithin(client, CONNECT_WITHIN_MS, where);
    store = new RedisTokenStore(client, { prefix });
  }
  let tokens: TokenService;
  try {
    tokens = new TokenService({ ...serviceOptions, store });
  } catch (error) {
    client?.disconnect();
    await postgres?.close();
    throw new CommandFailure(`invalid options${path === null ? '' : ` in ${path}`}: ${messageOf(error)}`);
  }
  return {
    tokens,
    where,
    config,
    async close() {
      await tokens.close();
      // disconnect, not quit: quit waits for an answer a hung server never sends.
      client?.disconnect();
      await postgres?.close();
    },
  };
}

/**
 * The PostgreSQL URL and where it came from: the one given, or $DATABASE_URL for `--postgres` without
 * one (and a config's `postgresUrl: true`), where a password is not in every local user's `ps`.
 */
function postgresFromFlagOrEnv(
  given: string | true,
  origin: string,
  env: Record<string, string | undefined>,
): readonly [string, string] {
  if (given !== true && given !== '') return [given, origin];
  const url = env.DATABASE_URL;
  if (url === undefined || url === '') {
    throw new UsageError(`${origin} without a URL reads $DATABASE_URL, which is not set`);
  }
  return [url, '$DATABASE_URL'];
}

/** Connects now rather than on the first command, so that an unreachable Redis is reported as such. */
async function connectWithin(client: Redis, ms: number, where: string): Promise<void> {
  // connect() rejects with a bare "Connection is closed."; the socket error says why.
  let socketError: unknown;
  const remember = (error: unknown) => {
    socketError ??= error;
  };
  client.on('error', remember);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([client.connect(), deadline]);
  } catch (error) {
    client.disconnect();
    throw new CommandFailure(`cannot reach ${where}: ${describeSocketError(socketError ?? error)}`);
  } finally {
    clearTimeout(timer);
    client.off('error', remember);
  }
}

/** Node reports a refused dual-stack connection as an AggregateError with an empty message. */
function describeSocketError(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    return error.errors.map((inner) => describeSocketError(inner)).join('; ');
  }
  const message = messageOf(error);
  if (message !== '') return message;
  return (error as { code?: string } | null)?.code ?? 'connection failed';
}
