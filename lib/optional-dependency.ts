import { MissingDependencyError } from './errors';

/**
 * Loads an optional peer dependency (`ioredis`, `pg`) when a set-up needs it, from the app's own
 * node_modules. Its absence is the app's configuration, said as such; any other failure to load it
 * (a broken install) is left as it is.
 */
export function requireOptional<T>(packageName: string, neededBy: string): T {
  try {
    return require(packageName) as T;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' && isAbout(error, packageName)) {
      throw new MissingDependencyError(packageName, neededBy);
    }
    throw error;
  }
}

// A module that is installed but lacks one of its own dependencies fails with the same code.
function isAbout(error: unknown, packageName: string): boolean {
  return (error as Error).message.includes(`'${packageName}'`);
}
