// Loaded with `--import` into a benchmarked server when `BENCH_LIBRARY_DIR` is set (`--compare`):
// `personal-token-auth` and its subpaths then resolve into that checkout, as if imported from
// inside it, so the very same server file runs the other checkout's code.
import Module from 'node:module';
import { join } from 'node:path';

const dir = process.env.BENCH_LIBRARY_DIR;
if (dir) {
  const internals = Module as unknown as {
    _resolveFilename: (request: string, parent: unknown, ...rest: unknown[]) => string;
  };
  const resolve = internals._resolveFilename;
  const insideDir = new Module(join(dir, 'package.json'));
  insideDir.filename = join(dir, 'package.json');
  insideDir.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dir);
  internals._resolveFilename = function (request, parent, ...rest) {
    const ours = request === 'personal-token-auth' || request.startsWith('personal-token-auth/');
    return resolve.call(this, request, ours ? insideDir : parent, ...rest);
  };
}
