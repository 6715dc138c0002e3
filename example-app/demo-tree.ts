import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FILES_DIR_NAME } from './node-tree';

/** The demo files, by path. */
export const DEMO_FILES: Readonly<Record<string, string>> = {
  '/docs/readme.txt': 'Welcome to the personal-token-auth example app.\n',
  '/docs/reports/q1.txt': 'Q1 report: revenue up, bugs down.\n',
  '/private/notes.txt': 'Private notes: only a token scoped to /private (or unscoped) can read this.\n',
};

/**
 * Seeds `<dataDir>/files` with the demo tree unless it already exists, so that pointing DATA_DIR at a
 * folder used before keeps its content. Returns true if it seeded.
 */
export function seedDemoTree(dataDir: string): boolean {
  const filesDir = join(dataDir, FILES_DIR_NAME);
  if (existsSync(filesDir)) return false;
  for (const [path, content] of Object.entries(DEMO_FILES)) {
    const realPath = join(filesDir, ...path.split('/'));
    mkdirSync(dirname(realPath), { recursive: true });
    writeFileSync(realPath, content);
  }
  return true;
}
