import { existsSync, lstatSync, realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IntrospectionClients, ResolveAncestors, ResolveNode, TokenServiceOptions } from '../lib/index';
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
 * are, and a name that is neither one of them nor one of the CLI's own below is refused. The default
 * export may also be a (possibly async) function returning the options; named exports work too when
 * there is no default export.
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
  /** For `serve-auth`: which node a proxied request touches (see `forwardAuth`). */
  resolveNode?: ResolveNode;
  /** For `serve-auth`: a node's ancestors, so that a scope on a folder covers what is below it. */
  resolveAncestors?: ResolveAncestors;
  /**
   * For `serve-auth --introspection`: the clients that may ask about tokens with HTTP Basic, id →
   * secret (or a function, see `introspectionRouter`). It wins over $PERSONAL_TOKEN_INTROSPECTION_CLIENTS.
   */
  introspectionClients?: IntrospectionClients;
}

export interface LoadedConfig {
  /** Absolute path of the file read, or null when there was none. */
  path: string | null;
  config: CliConfig;
}

/** Looked for in the working directory, in this order, without `--config` or $PERSONAL_TOKEN_CONFIG. */
export const DEFAULT_CONFIG_FILES = ['personal-token.config.mjs', 'personal-token.config.js'] as const;

/** Names a config file as `--config` does; the flag wins over it. Empty is unset. */
export const CONFIG_ENV = 'PERSONAL_TOKEN_CONFIG';

/**
 * A config found in the working directory that someone other than the user running the CLI could have
 * written: it is not run. (Exit 2: the command line can work, with `--config` or from another directory.)
 */
export class UnsafeConfigError extends Error {
  override readonly name = 'UnsafeConfigError';
  readonly code = 'ERR_UNSAFE_CONFIG';
}

const writableBy = (mode: number): string | null => {
  const who = [mode & 0o020 ? 'group' : '', mode & 0o002 ? 'others' : ''].filter((whom) => whom !== '');
  return who.length === 0 ? null : `writable by ${who.join(' and ')}`;
};

/** What makes `stats` (of a file or directory that must be the user's alone) unsafe, or null. */
function notTheUsers(stats: Stats, uid: number): string | null {
  if (stats.uid !== uid) return `owned by uid ${stats.uid}, not by you (uid ${uid})`;
  return writableBy(stats.mode);
}

/**
 * Why the config file at `path` may hold code that someone other than the user `uid` put there, or null
 * when only that user (and root) can have written it: the file and its directory are the user's and
 * writable by nobody else (as OpenSSH's StrictModes asks of ~/.ssh), and no directory above can be changed
 * by anyone but its owner, root or the user (so nobody can swap the directory itself). A symbolic link is
 * refused rather than followed. Files the config imports are not checked: they are the config's business.
 */
export function whyUnsafe(path: string, uid: number | undefined): string | null {
  if (uid === undefined) return 'cannot be checked on this platform (who may write it is unknown)';
  const file = lstatSync(path);
  if (file.isSymbolicLink()) return 'is a symbolic link';
  if (!file.isFile()) return 'is not a regular file';
  const fileProblem = notTheUsers(file, uid);
  if (fileProblem !== null) return `is ${fileProblem}`;
  const directory = realpathSync(dirname(path));
  const directoryProblem = notTheUsers(statSync(directory), uid);
  if (directoryProblem !== null) return `is in ${directory}, which is ${directoryProblem}`;
  for (let above = dirname(directory); ; above = dirname(above)) {
    const stats = statSync(above);
    if (stats.uid !== uid && stats.uid !== 0) return `is below ${above}, which is owned by uid ${stats.uid}`;
    // A sticky directory (/tmp) lets others add entries, never rename or remove someone else's.
    const problem = stats.mode & 0o1000 ? null : writableBy(stats.mode);
    if (problem !== null) return `is below ${above}, which is ${problem}`;
    if (above === dirname(above)) return null;
  }
}

/** A config file to load, and how it was chosen. */
export interface ConfigFile {
  path: string;
  /** Named by `--config` or $PERSONAL_TOKEN_CONFIG: loaded even if unsafe, the user asked for it. */
  named: boolean;
}

/**
 * The config to load: the file `--config` or else $PERSONAL_TOKEN_CONFIG names, or else
 * personal-token.config.mjs / .js in the working directory, but only if it is safe (see `whyUnsafe`):
 * anyone who can write to a directory could otherwise run code as whoever runs the CLI there.
 */
export function findConfigFile(
  explicitPath: string | undefined,
  cwd: string,
  env: Record<string, string | undefined> = {},
): ConfigFile | null {
  const fromEnv = env[CONFIG_ENV] === '' ? undefined : env[CONFIG_ENV];
  const named = explicitPath ?? fromEnv;
  if (named !== undefined) {
    const path = resolve(cwd, named);
    const origin = explicitPath !== undefined ? '--config' : `$${CONFIG_ENV}`;
    if (!existsSync(path)) throw new UsageError(`${origin}: no such file ${path}`);
    return { path, named: true };
  }
  for (const name of DEFAULT_CONFIG_FILES) {
    const path = resolve(cwd, name);
    // lstat, not exists: a dangling link is refused below, not passed over for the next name.
    if (lstatOrNull(path) === null) continue;
    const problem = whyUnsafe(path, process.getuid?.());
    if (problem !== null) {
      throw new UnsafeConfigError(`${path} ${problem}: not loaded; pass --config to load it anyway`);
    }
    return { path, named: false };
  }
  return null;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/**
 * Finds the config (see `findConfigFile`), tells `announce` which file is about to run (the CLI prints it on
 * stderr), and loads it.
 */
export async function loadConfig(
  explicitPath: string | undefined,
  cwd: string,
  env: Record<string, string | undefined> = {},
  announce: (line: string) => void = () => {},
): Promise<LoadedConfig> {
  const found = findConfigFile(explicitPath, cwd, env);
  if (found === null) return { path: null, config: {} };
  const { path } = found;
  const problem = found.named ? whyUnsafe(path, process.getuid?.()) : null;
  announce(`config ${path}${problem === null ? '' : ` (loaded as asked, though it ${problem})`}`);
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
  const clients = config.introspectionClients;
  if (
    clients !== undefined &&
    (typeof clients !== 'object' || clients === null) &&
    typeof clients !== 'function'
  ) {
    fail('introspectionClients must map client ids to secrets, or be a function');
  }
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
