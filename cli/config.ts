import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TokenServiceOptions } from '../lib/index';
import { CommandFailure, messageOf, UsageError } from './errors';

/**
 * The options the app itself gives the library, so that the CLI refuses what the app would refuse
 * (an unknown user, a scope on a node the user cannot reach, one token too many) and writes where
 * the app reads:
 *
 *   // personal-token.config.mjs
 *   export default { store, resolveUser, canAccess, tokenPrefix };
 *
 * Any TokenService option may be given (maxTokensPerUser, onEvent...); they are passed on as they
 * are. The default export may also be a (possibly async) function returning the options; named
 * exports work too when there is no default export.
 */
export interface CliConfig extends Partial<Omit<TokenServiceOptions, 'now' | 'onClose'>> {
  /** Redis URL, when the config does not give a store. `--redis` wins over it, and it over $REDIS_URL. */
  redisUrl?: string;
  /** Redis key prefix, when the config does not give a store. `--prefix` wins over it. */
  keyPrefix?: string;
  /**
   * PostgreSQL URL, when the config does not give a store: tokens in its `personal_tokens` table
   * (see docs/postgres.md); `true` for $DATABASE_URL. `--postgres` wins over it, and `--redis` over it.
   */
  postgresUrl?: string | true;
}

export interface LoadedConfig {
  /** Absolute path of the file read, or null when there was none. */
  path: string | null;
  config: CliConfig;
}

/** Looked for in the working directory, in this order, when `--config` is not given. */
export const DEFAULT_CONFIG_FILES = ['personal-token.config.mjs', 'personal-token.config.js'] as const;

export function findConfigFile(explicitPath: string | undefined, cwd: string): string | null {
  if (explicitPath !== undefined) {
    const path = resolve(cwd, explicitPath);
    if (!existsSync(path)) throw new UsageError(`--config: no such file ${path}`);
    return path;
  }
  for (const name of DEFAULT_CONFIG_FILES) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return path;
  }
  return null;
}

export async function loadConfig(explicitPath: string | undefined, cwd: string): Promise<LoadedConfig> {
  const path = findConfigFile(explicitPath, cwd);
  if (path === null) return { path: null, config: {} };
  let exported: unknown;
  try {
    // A real dynamic import (kept as such in the CommonJS build), so ES modules load too.
    const module: Record<string, unknown> = await import(pathToFileURL(path).href);
    exported = module.default ?? module;
    if (typeof exported === 'function') exported = await exported();
  } catch (error) {
    throw new CommandFailure(`cannot load config ${path}: ${messageOf(error)}`);
  }
  return { path, config: validateConfig(exported, path) };
}

/**
 * Checks what the CLI itself reads from a config, naming the first wrong field. The TokenService
 * constructor checks the rest (the store's methods, the token prefix...).
 */
export function validateConfig(exported: unknown, path: string): CliConfig {
  const fail = (problem: string): never => {
    throw new CommandFailure(`invalid config ${path}: ${problem}`);
  };
  if (typeof exported !== 'object' || exported === null) return fail('it must export an object');
  const config = exported as Record<string, unknown>;
  for (const field of ['resolveUser', 'canAccess', 'onEvent'] as const) {
    if (config[field] !== undefined && typeof config[field] !== 'function')
      fail(`${field} must be a function`);
  }
  for (const field of ['redisUrl', 'keyPrefix', 'tokenPrefix'] as const) {
    if (config[field] !== undefined && typeof config[field] !== 'string') fail(`${field} must be a string`);
  }
  if (
    config.postgresUrl !== undefined &&
    typeof config.postgresUrl !== 'string' &&
    config.postgresUrl !== true
  ) {
    fail('postgresUrl must be a string, or true for $DATABASE_URL');
  }
  // `postgresUrl: process.env.DATABASE_URL` with the variable unset would quietly mean Redis.
  for (const field of ['store', 'redisUrl', 'postgresUrl'] as const) {
    if (field in config && config[field] === undefined) {
      fail(
        `${field} is undefined (an environment variable that is not set?); leave it out to mean the default`,
      );
    }
  }
  if (config.store !== undefined && (config.redisUrl !== undefined || config.keyPrefix !== undefined)) {
    fail('give either store or redisUrl/keyPrefix, not both');
  }
  if (config.postgresUrl !== undefined && (config.store !== undefined || config.redisUrl !== undefined)) {
    fail('give one of store, redisUrl and postgresUrl');
  }
  return config as CliConfig;
}
