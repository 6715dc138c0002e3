// `personal-token scan` attacked as a hostile tree would: a .git/config that runs a program, FIFOs and
// devices, file names that are not UTF-8 or that carry terminal escapes and bidirectional overrides,
// symbolic links out of the tree and in loops, names that look like options.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { runCli as runCliProgram } from '../cli/program';
import { generateToken } from '../lib/token-format';
import { type CliRun, runCli } from './cli-support';

const PREFIX = 'pat_';
const newToken = () => generateToken(PREFIX, { autoRefresh: null, hardExpiresAt: null });

// No user or system git config: the repository behaves the same on every machine.
const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The program in this process. */
async function scan(args: string[], cwd: string): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCliProgram(['scan', ...args], {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: GIT_ENV,
    cwd,
  });
  return { code, signal: null, stdout, stderr };
}

const root = mkdtempSync(join(tmpdir(), 'pat-scan-attacks-'));
after(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const newFolder = () => {
  const folder = join(root, `t${folders++}`);
  mkdirSync(folder);
  return folder;
};

// C0 and C1 controls, line separators, bidirectional marks, overrides and isolates: raw in a terminal,
// each can move the cursor, recolour, forge a line or show a name backwards.
const UNSAFE_IN_TERMINAL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

describe('scan: a tree that is not trusted', () => {
  test('its .git/config runs no program (core.fsmonitor): folder, --git-staged, --git-history', async () => {
    const tree = newFolder();
    const marker = join(root, 'fsmonitor-ran');
    git(tree, 'init', '-q');
    writeFileSync(join(tree, 'notes.txt'), `token: ${newToken().token}\n`);
    git(tree, 'add', '-A');
    git(tree, 'commit', '-qm', 'first');
    writeFileSync(join(tree, 'more.txt'), `token: ${newToken().token}\n`);
    git(tree, 'add', '-A');
    // As a downloaded archive of a work tree could hold it: git runs this on reading the index.
    git(tree, 'config', 'core.fsmonitor', `touch '${marker}'; false`);
    for (const args of [['.'], ['--git-staged', '.'], ['--git-history', '.']]) {
      const run = await scan(args, tree);
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(existsSync(marker), false, `scan ${args.join(' ')} ran the tree's core.fsmonitor`);
    }
  });

  test('--git-history: a replace ref cannot hide the commit that added a token', async () => {
    const tree = newFolder();
    git(tree, 'init', '-q');
    const token = newToken();
    writeFileSync(join(tree, 'a.txt'), `${token.token}\n`);
    git(tree, 'add', '-A');
    git(tree, 'commit', '-qm', 'first');
    const leaking = git(tree, 'rev-parse', 'HEAD').trim();
    // A commit of a clean tree, put in the leaking one's place for every git command that honours
    // refs/replace: the branch still holds (and a push still sends) the original.
    writeFileSync(join(tree, 'clean.txt'), 'nothing here\n');
    const cleanTree = execFileSync('git', ['mktree'], {
      cwd: tree,
      env: GIT_ENV,
      input: `100644 blob ${execFileSync('git', ['hash-object', '-w', 'clean.txt'], { cwd: tree, env: GIT_ENV, encoding: 'utf8' }).trim()}\tclean.txt\n`,
      encoding: 'utf8',
    }).trim();
    const clean = git(tree, 'commit-tree', cleanTree, '-m', 'first').trim();
    git(tree, 'replace', leaking, clean);
    rmSync(join(tree, 'clean.txt'));
    const run = await scan(['--git-history', '.'], tree);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stdout, `${leaking}:a.txt:1:1  token ${token.id}\n`);
  });

  test('a FIFO or a device named on the command line: exit 2 at once, never a hang (a real process)', async () => {
    const tree = newFolder();
    const fifo = join(tree, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const path of [fifo, '/dev/zero']) {
      // killAfterMs only guards against the hang itself; a healthy run ends at once.
      const run = await runCli(['scan', path], { cwd: tree, env: GIT_ENV, killAfterMs: 20_000 });
      assert.equal(run.signal, null, `scan ${path} hung`);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /cannot read .*: not a regular file/);
    }
  });

  test('a FIFO, a socket-like entry and a device inside a folder are left out, not waited on', async () => {
    const tree = newFolder();
    execFileSync('mkfifo', [join(tree, 'fifo')]);
    symlinkSync('/dev/zero', join(tree, 'zero'));
    const token = newToken();
    writeFileSync(join(tree, 'a.txt'), token.token);
    const run = await runCli(['scan', '.'], { cwd: tree, env: GIT_ENV, killAfterMs: 20_000 });
    assert.equal(run.signal, null);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stdout, `a.txt:1:1  token ${token.id}\n`);
  });

  test('a file whose name is not UTF-8 in a git work tree is not skipped in silence', async () => {
    const tree = newFolder();
    git(tree, 'init', '-q');
    writeFileSync(
      Buffer.concat([Buffer.from(`${tree}/x`), Buffer.from([0xff]), Buffer.from('.txt')]),
      newToken().token,
    );
    const run = await scan(['.'], tree);
    // Either it is read, or the scan says it could not be: never "nothing found".
    assert.notEqual(run.code, 0, 'a token in a file named in Latin-1 went unreported');
    assert.match(run.stderr, /cannot read .*: the file name is not UTF-8/);
  });

  test('symbolic links out of the tree and in loops are not followed', async () => {
    const outside = newFolder();
    writeFileSync(join(outside, 'secret.txt'), newToken().token);
    const tree = newFolder();
    symlinkSync(outside, join(tree, 'out'));
    symlinkSync(join(outside, 'secret.txt'), join(tree, 'secret-link.txt'));
    mkdirSync(join(tree, 'loop'));
    symlinkSync(join(tree, 'loop'), join(tree, 'loop', 'again'));
    symlinkSync('self', join(tree, 'self'));
    for (const inGit of [false, true]) {
      if (inGit) git(tree, 'init', '-q');
      const run = await runCli(['scan', '.'], { cwd: tree, env: GIT_ENV, killAfterMs: 20_000 });
      assert.equal(run.signal, null);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, '');
    }
  });

  test('a file named like an option is a file; git refuses a branch named like one', async () => {
    const tree = newFolder();
    git(tree, 'init', '-q');
    const token = newToken();
    writeFileSync(join(tree, '--output=x'), token.token);
    git(tree, 'add', '--', '--output=x');
    git(tree, 'commit', '-qm', 'first');
    const written = join(root, 'written-by-git');
    assert.throws(() => git(tree, 'branch', `--output=${written}`));
    // update-ref takes it (a ref name may hold `-` and `/`): the scan names no ref to git.
    git(tree, 'update-ref', `refs/heads/--output=${written}`, 'HEAD');
    const history = await scan(['--git-history', '.'], tree);
    assert.equal(history.code, 1, history.stderr);
    assert.match(history.stdout, new RegExp(`^[0-9a-f]{40}:--output=x:1:1  token ${token.id}\\n$`));
    const files = await scan(['--', '--output=x'], tree);
    assert.equal(files.stdout, `--output=x:1:1  token ${token.id}\n`);
    assert.equal(existsSync(join(tree, 'x')), false);
    assert.equal(existsSync(written), false);
  });
});

describe('scan: file names that carry escapes', () => {
  const tree = newFolder();
  const token = newToken();

  /** The file names fast-check draws: any characters, the dangerous ones often. */
  const nameCharacter = fc.oneof(
    fc.constantFrom('\u001b', '[', '3', '1', 'm', ']', '\u0007', '\u009b', '\u0085', '\r', '\n', '\t'),
    fc.constantFrom('\u202e', '\u2066', '\u2069', '\u200f', '\u2028', '\u2029', '-', ' ', '"', '\\'),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
  );
  const fileName = fc
    .array(nameCharacter, { minLength: 1, maxLength: 12 })
    .map((characters) => characters.join('').replace(/[/\0]/g, '_'))
    .filter((name) => name !== '.' && name !== '..' && Buffer.byteLength(name) < 200);

  test('text output: no control, bidirectional or line-separating character reaches the terminal', async () => {
    await fc.assert(
      fc.asyncProperty(fileName, async (name) => {
        const folder = mkdtempSync(join(tree, 'n'));
        writeFileSync(join(folder, name), token.token);
        const run = await scan(['.'], folder);
        rmSync(folder, { recursive: true, force: true });
        assert.equal(run.code, 1, run.stderr);
        const output = run.stdout.slice(0, -1);
        assert.ok(!UNSAFE_IN_TERMINAL.test(output), `raw in the output: ${JSON.stringify(output)}`);
        assert.ok(output.endsWith(`:1:1  token ${token.id}`));
      }),
      { numRuns: 60 },
    );
  });

  test('--json and --sarif: the same characters only as JSON escapes, and the path reads back exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fileName, fc.boolean(), async (name, sarif) => {
        const folder = mkdtempSync(join(tree, 'j'));
        writeFileSync(join(folder, name), token.token);
        const run = await scan([sarif ? '--sarif' : '--json', '.'], folder);
        rmSync(folder, { recursive: true, force: true });
        assert.equal(run.code, 1, run.stderr);
        assert.ok(!UNSAFE_IN_TERMINAL.test(run.stdout.replace(/\n/g, '')), 'a raw character in the JSON');
        const parsed = JSON.parse(run.stdout);
        if (sarif) {
          const uri = parsed.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri;
          assert.equal(decodeURIComponent(uri), name);
        } else {
          assert.equal(parsed[0].path, name);
        }
      }),
      { numRuns: 60 },
    );
  });
});
