// The fenced code blocks of the README and docs/, for the tests that compile them as a reader would.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '../..');

export interface CodeBlock {
  /** Where it starts, as `file:line`. */
  where: string;
  file: string;
  /** The line of the opening fence. */
  line: number;
  info: string;
  code: string;
}

export function markdownFiles(): string[] {
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'))
        .filter((name) => name.endsWith('.md'))
        .sort()
        .map((name) => join(root, 'docs', name))
    : [];
  return [join(root, 'README.md'), ...docs, join(root, 'bench/README.md')].filter((file) => existsSync(file));
}

/** The fenced blocks of a Markdown file, with their info strings. */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  let open: { info: string; start: number; fence: string; body: string[] } | undefined;
  for (const [index, line] of lines.entries()) {
    if (open === undefined) {
      const fence = /^(`{3,}|~{3,})\s*(.*)$/.exec(line);
      if (fence) open = { fence: fence[1]!, info: fence[2]!.trim(), start: index + 1, body: [] };
    } else if (line.trim() === open.fence) {
      blocks.push({
        where: `${relative(root, file)}:${open.start}`,
        file: relative(root, file),
        line: open.start,
        info: open.info,
        code: open.body.join('\n'),
      });
      open = undefined;
    } else {
      open.body.push(line);
    }
  }
  assert.equal(open, undefined, `${relative(root, file)}: a code block is not closed`);
  return blocks;
}

/**
 * Writes `blocks` as the files of a strict ESM project in `project` (`blocks/block-N.ts`, and a
 * tsconfig with `skipLibCheck: false`), as a consumer who copied them would compile them.
 */
export function writeBlockProject(
  project: string,
  blocks: readonly CodeBlock[],
  compilerOptions: Record<string, unknown> = {},
): void {
  mkdirSync(join(project, 'blocks'), { recursive: true });
  const files = blocks.map((block, index) => {
    writeFileSync(join(project, 'blocks', `block-${index}.ts`), `// ${block.where}\n${block.code}\n`);
    return `blocks/block-${index}.ts`;
  });
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        skipLibCheck: false,
        types: ['node'],
        ...compilerOptions,
      },
      files,
    }),
  );
}

/** Compiles a project written by `writeBlockProject`: '' when it compiles, else tsc's errors, naming the Markdown file and line. */
export function compileBlockProject(tsc: string, project: string, blocks: readonly CodeBlock[]): string {
  try {
    execFileSync(process.execPath, [tsc, '-p', project], { cwd: project, stdio: 'pipe' });
    return '';
  } catch (error) {
    const { stdout, stderr } = error as { stdout: Buffer; stderr: Buffer };
    return `${stdout}${stderr}`.replace(
      /blocks\/block-(\d+)\.ts\((\d+),(\d+)\)/g,
      (_all, index, line, column) => {
        const block = blocks[Number(index)]!;
        return `${block.file}:${block.line + Number(line) - 1}:${column}`;
      },
    );
  }
}
