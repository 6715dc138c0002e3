// `personal-token scan` as a command: a tree with tokens planted in text, JSON, a minified bundle and
// a git commit, among 10,000 look-alikes; standard input; .gitignore; the staged changes; the history;
// --json, --sarif; usage errors. No store anywhere: the scan needs none.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { runCli as runCliProgram } from '../cli/program';
import { generateToken } from '../lib/token-format';
import { type CliRun, lines, runCli } from './cli-support';

const PREFIX = 'pat_';
const newToken = () => generateToken(PREFIX, { autoRefresh: null, hardExpiresAt: null });

/** A token with one character of its body changed: the checksum fails. */
function lookAlike(): string {
  const { token } = newToken();
  const at = PREFIX.length + 16 + Math.floor(Math.random() * 60);
  const replacement = token[at] === 'A' ? 'B' : 'A';
  return token.slice(0, at) + replacement + token.slice(at + 1);
}

// No user or system git config: the repository behaves the same on every machine.
const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
  });
}

/** The program in this process, with standard input when given. */
async function scan(args: string[], cwd: string, stdin?: string | Buffer): Promise<CliRun> {
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
    ...(stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(stdin)]) }),
  });
  return { code, signal: null, stdout, stderr };
}

/** Asserts that no output holds any of these token texts, nor a secret's worth of one. */
function assertNoTokenText(run: CliRun, tokens: readonly string[]): void {
  const output = run.stdout + run.stderr;
  for (const token of tokens) {
    assert.ok(!output.includes(token), 'a token text was printed');
    assert.ok(
      !output.includes(token.slice(PREFIX.length + 16, PREFIX.length + 16 + 20)),
      'a secret was printed',
    );
  }
}

const findingsOf = (run: CliRun) => lines(run.stdout).sort();

describe('personal-token scan', () => {
  const root = mkdtempSync(join(tmpdir(), 'pat-scan-'));
  const tree = join(root, 'tree');
  const inText = newToken();
  const inJson = newToken();
  const inBundle = newToken();
  const inHistory = newToken();
  const ignored = newToken();
  const untracked = newToken();
  const lookAlikes = Array.from({ length: 10_000 }, lookAlike);
  const allTexts = [inText, inJson, inBundle, inHistory, ignored, untracked].map(({ token }) => token);

  before(() => {
    mkdirSync(join(tree, 'dist'), { recursive: true });
    mkdirSync(join(tree, 'build'), { recursive: true });
    git(tree, 'init', '-q');
    writeFileSync(join(tree, '.gitignore'), 'build/\n');
    writeFileSync(
      join(tree, 'notes.txt'),
      `Deploy notes\n${lookAlikes.slice(0, 3000).join('\n')}\nthe token: ${inText.token}\n`,
    );
    writeFileSync(
      join(tree, 'config.json'),
      JSON.stringify({ clients: lookAlikes.slice(3000, 6000), deploy: { token: inJson.token } }, null, 2),
    );
    writeFileSync(
      join(tree, 'dist', 'app.min.js'),
      `!function(){var t=[${lookAlikes
        .slice(6000)
        .map((text) => `"${text}"`)
        .join(',')}];fetch("/api",{headers:{Authorization:"Bearer ${inBundle.token}"}})}();`,
    );
    writeFileSync(join(tree, 'build', 'cache.txt'), ignored.token);
    writeFileSync(join(tree, 'old.env'), `TOKEN=${inHistory.token}\n`);
    git(tree, 'add', '-A');
    git(tree, 'commit', '-qm', 'first');
    git(tree, 'rm', '-q', 'old.env');
    git(tree, 'commit', '-qm', 'token removed');
    // Untracked but not ignored: git would add it, so it is scanned.
    writeFileSync(join(tree, 'scratch.txt'), `\n\n    ${untracked.token}`);
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  test('a tree: exactly the planted tokens, none of 10,000 look-alikes, no token text, exit 1 (a real process)', async () => {
    // No store anywhere near: the scan must not need one.
    const run = await runCli(['scan', '--token-prefix', PREFIX, 'tree'], {
      cwd: root,
      env: { ...GIT_ENV, REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://127.0.0.1:1/none' },
    });
    assert.equal(run.code, 1, run.stderr);
    const notesLine = 3002;
    const jsonLines = JSON.stringify(
      { clients: lookAlikes.slice(3000, 6000), deploy: { token: 'x' } },
      null,
      2,
    ).split('\n');
    const jsonLine = jsonLines.findIndex((line) => line.includes('"token"')) + 1;
    const bundleColumn =
      `!function(){var t=[${lookAlikes
        .slice(6000)
        .map((text) => `"${text}"`)
        .join(',')}];fetch("/api",{headers:{Authorization:"Bearer `.length + 1;
    assert.deepEqual(
      findingsOf(run),
      [
        `tree/config.json:${jsonLine}:15  token ${inJson.id}`,
        `tree/dist/app.min.js:1:${bundleColumn}  token ${inBundle.id}`,
        `tree/notes.txt:${notesLine}:12  token ${inText.id}`,
        `tree/scratch.txt:3:5  token ${untracked.id}`,
      ].sort(),
    );
    assertNoTokenText(run, [...allTexts, ...lookAlikes]);
    assert.match(run.stderr, /found 4 tokens/);
  });

  test('--git-history: the token that only a commit holds, reported as commit:path:line', async () => {
    const run = await scan(['--git-history'], tree);
    assert.equal(run.code, 1, run.stderr);
    const first = git(tree, 'rev-list', '--max-parents=0', 'HEAD').trim();
    const found = findingsOf(run);
    assert.ok(found.includes(`${first}:old.env:1:7  token ${inHistory.id}`), run.stdout);
    // The committed files' tokens too, and never the ignored or untracked ones.
    assert.deepEqual(
      found.map((line) => line.split('  token ')[1]).sort(),
      [inText.id, inJson.id, inBundle.id, inHistory.id].sort(),
    );
    assertNoTokenText(run, allTexts);
  });

  test('.gitignore is honoured inside a work tree; outside one, every file but .git/ is read', async () => {
    const inside = await scan(['--json'], tree);
    const ids = (JSON.parse(inside.stdout) as { tokenId: string }[]).map((finding) => finding.tokenId);
    assert.ok(!ids.includes(ignored.id));
    const plain = join(root, 'plain');
    mkdirSync(join(plain, 'build'), { recursive: true });
    mkdirSync(join(plain, '.git'), { recursive: true });
    writeFileSync(join(plain, '.gitignore'), 'build/\n');
    writeFileSync(join(plain, 'build', 'cache.txt'), ignored.token);
    writeFileSync(join(plain, '.git', 'ORIG_HEAD'), inText.token);
    const outside = await scan(['plain', '--json'], root);
    assert.deepEqual(JSON.parse(outside.stdout), [
      { path: join('plain', 'build', 'cache.txt'), line: 1, column: 1, tokenId: ignored.id },
    ]);
  });

  test('a nested repository is read with its own ignore rules; a submodule not checked out is passed over', async () => {
    const outer = join(root, 'outer');
    mkdirSync(join(outer, 'nested'), { recursive: true });
    mkdirSync(join(outer, 'module'));
    git(outer, 'init', '-q');
    git(join(outer, 'nested'), 'init', '-q');
    writeFileSync(join(outer, 'nested', '.gitignore'), 'cache/\n');
    mkdirSync(join(outer, 'nested', 'cache'));
    writeFileSync(join(outer, 'nested', 'cache', 'hit.txt'), ignored.token);
    writeFileSync(join(outer, 'nested', 'keys.txt'), inText.token);
    // A gitlink whose folder is empty, as after a clone without --recurse-submodules: git lists it
    // from inside as "./", which must not be gone into again.
    git(outer, 'update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},module`);
    const run = await scan(['outer'], root);
    assert.deepEqual(lines(run.stdout), [`outer/nested/keys.txt:1:1  token ${inText.id}`]);
  });

  test('standard input (-); nothing found: exit 0 and no output', async () => {
    const { token, id } = newToken();
    const run = await scan(
      ['-', '--token-prefix', PREFIX],
      root,
      `log line\nAuthorization: Bearer ${token}\n`,
    );
    assert.equal(run.code, 1);
    assert.deepEqual(lines(run.stdout), [`-:2:23  token ${id}`]);
    assertNoTokenText(run, [token]);
    const clean = await scan(['-'], root, lookAlikes.join('\n'));
    assert.deepEqual([clean.code, clean.stdout, clean.stderr], [0, '', '']);
  });

  test('--git-staged: only what the next commit adds, numbered as in the staged file, odd file names too', async () => {
    const repo = join(root, 'staged');
    mkdirSync(repo);
    git(repo, 'init', '-q');
    writeFileSync(join(repo, 'kept.txt'), `one\n${inText.token}\nthree\n`);
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'already committed');
    const added = newToken();
    const binary = newToken();
    const unstaged = newToken();
    const oddName = 'a "quoted" name\twith\nnewline é.txt';
    writeFileSync(join(repo, 'kept.txt'), `one\n${inText.token}\nthree\nfour ${added.token}\n`);
    writeFileSync(join(repo, oddName), `x\ny\n  ${added.token}`);
    // Unquoted by git, and " b/" inside: the header splits in its middle, not at a " b/".
    mkdirSync(join(repo, 'dir b'));
    writeFileSync(join(repo, 'dir b', 'f b.txt'), added.token);
    writeFileSync(
      join(repo, 'blob.bin'),
      Buffer.concat([Buffer.from([0, 1, 2, 0xff]), Buffer.from(binary.token)]),
    );
    git(repo, 'add', '-A');
    writeFileSync(join(repo, 'later.txt'), unstaged.token);
    const run = await scan(['--git-staged', '--json'], repo);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(
      (JSON.parse(run.stdout) as { path: string }[]).sort((a, b) => (a.path < b.path ? -1 : 1)),
      [
        { path: oddName, line: 3, column: 3, tokenId: added.id },
        { path: 'blob.bin', line: 1, column: 5, tokenId: binary.id },
        { path: 'dir b/f b.txt', line: 1, column: 1, tokenId: added.id },
        { path: 'kept.txt', line: 4, column: 6, tokenId: added.id },
      ],
    );
    const text = await scan(['--git-staged'], repo);
    assert.ok(text.stdout.includes('a "quoted" name\\u0009with\\u000anewline é.txt:3:3'), text.stdout);
    assert.equal(lines(text.stdout).length, 4);
    // Nothing staged that adds a token: exit 0, also in a repository without any commit yet.
    git(repo, 'commit', '-qm', 'second');
    assert.equal((await scan(['--git-staged'], repo)).code, 0);
    const fresh = join(root, 'fresh');
    mkdirSync(fresh);
    git(fresh, 'init', '-q');
    writeFileSync(join(fresh, 'a.txt'), added.token);
    git(fresh, 'add', '-A');
    assert.deepEqual(lines((await scan(['--git-staged'], fresh)).stdout), [`a.txt:1:1  token ${added.id}`]);
  });

  test("a file named after a token: its path is shown with the token's id in its place", async () => {
    const dir = join(root, 'named');
    mkdirSync(dir);
    writeFileSync(join(dir, `backup-${inText.token}.txt`), `x ${inJson.token}`);
    const run = await scan(['named'], root);
    assert.deepEqual(lines(run.stdout), [`named/backup-[token ${inText.id}].txt:1:3  token ${inJson.id}`]);
    assertNoTokenText(run, allTexts);
  });

  test('--json: [{path, line, column, tokenId}] and nothing else', async () => {
    const run = await scan(['tree/notes.txt', '--json'], root);
    assert.equal(run.code, 1);
    assert.deepEqual(JSON.parse(run.stdout), [
      { path: 'tree/notes.txt', line: 3002, column: 12, tokenId: inText.id },
    ]);
    assert.equal(run.stderr, '');
    const none = await scan(['tree/.gitignore', '--json'], root);
    assert.deepEqual([none.code, JSON.parse(none.stdout)], [0, []]);
  });

  test('--sarif: a SARIF 2.1.0 log with the required structure, one result per finding, no token text', async () => {
    const run = await scan(['tree', '--sarif'], root);
    assert.equal(run.code, 1);
    assertNoTokenText(run, allTexts);
    const log = JSON.parse(run.stdout);
    // The schema's required properties, level by level (sarif-schema-2.1.0.json).
    assert.equal(log.version, '2.1.0');
    assert.ok(Array.isArray(log.runs) && log.runs.length === 1);
    const [sarifRun] = log.runs;
    assert.equal(typeof sarifRun.tool.driver.name, 'string');
    const [rule] = sarifRun.tool.driver.rules;
    assert.equal(typeof rule.id, 'string');
    assert.ok(['utf16CodeUnits', 'unicodeCodePoints'].includes(sarifRun.columnKind));
    assert.equal(sarifRun.results.length, 4);
    for (const result of sarifRun.results) {
      assert.equal(typeof result.message.text, 'string');
      assert.equal(result.ruleId, rule.id);
      assert.equal(result.ruleIndex, 0);
      assert.ok(['none', 'note', 'warning', 'error'].includes(result.level));
      const [location] = result.locations;
      const { artifactLocation, region } = location.physicalLocation;
      assert.equal(typeof artifactLocation.uri, 'string');
      assert.doesNotThrow(() => new URL(artifactLocation.uri, 'file:///base/'));
      for (const field of ['startLine', 'startColumn', 'endLine', 'endColumn']) {
        assert.ok(Number.isInteger(region[field]) && region[field] >= 1, field);
      }
      assert.equal(region.endColumn - region.startColumn, 86);
    }
    const notes = sarifRun.results.find(
      (result: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) =>
        result.locations[0]!.physicalLocation.artifactLocation.uri === 'tree/notes.txt',
    );
    assert.deepEqual(notes.locations[0].physicalLocation.region, {
      startLine: 3002,
      startColumn: 12,
      endLine: 3002,
      endColumn: 98,
    });
    assert.match(notes.message.text, new RegExp(inText.id));
    // A path with a space is a URI reference with it encoded.
    writeFileSync(join(root, 'with space.txt'), inText.token);
    const spaced = JSON.parse((await scan(['with space.txt', '--sarif'], root)).stdout);
    assert.equal(
      spaced.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri,
      'with%20space.txt',
    );
  });

  test("the prefix: --token-prefix, else a named config's tokenPrefix; a config in the working directory is not run", async () => {
    const other = generateToken('ghx_', { autoRefresh: null, hardExpiresAt: null });
    const dir = join(root, 'prefixes');
    mkdirSync(dir);
    writeFileSync(join(dir, 'both.txt'), `${inText.token}\n${other.token}\n`);
    writeFileSync(join(dir, 'named.config.mjs'), "export default { tokenPrefix: 'ghx_' };\n");
    // Code a cloned repository could carry: a scan without --revoke must not run it.
    writeFileSync(
      join(dir, 'personal-token.config.mjs'),
      "import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./ran', import.meta.url), 'x');\nexport default {};\n",
    );
    const byDefault = await scan(['both.txt'], dir);
    assert.deepEqual(lines(byDefault.stdout), [`both.txt:1:1  token ${inText.id}`]);
    const byFlag = await scan(['both.txt', '--token-prefix', 'ghx_'], dir);
    assert.deepEqual(lines(byFlag.stdout), [`both.txt:2:1  token ${other.id}`]);
    let stdout = '';
    let stderr = '';
    const byConfig = await runCliProgram(['--config', 'named.config.mjs', 'scan', 'both.txt', '--json'], {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      env: GIT_ENV,
      cwd: dir,
    });
    assert.equal(byConfig, 1, stderr);
    assert.deepEqual(JSON.parse(stdout), [{ path: 'both.txt', line: 2, column: 1, tokenId: other.id }]);
    assert.match(stderr, /config .*named\.config\.mjs/);
    assert.ok(!existsSync(join(dir, 'ran')), 'the config in the working directory ran');
  });

  test('a file that cannot be read: named on stderr, the rest still scanned, exit 2', async () => {
    // A socket: there to stat, impossible to open (root reads any file, whatever its mode).
    const socketPath = join(root, 'app.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const run = await scan(['app.sock', 'tree/notes.txt'], root);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /^personal-token: cannot read app\.sock: ENXIO$/m);
      assert.deepEqual(lines(run.stdout), [`tree/notes.txt:3002:12  token ${inText.id}`]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('usage errors exit 2 and say what is wrong', async () => {
    mkdirSync(join(root, 'not-git'), { recursive: true });
    const cases: [string[], RegExp][] = [
      [['--bogus'], /unknown option '--bogus'/],
      [['missing.txt'], /cannot read missing\.txt: ENOENT/],
      [['--json', '--sarif'], /--json and --sarif: give one/],
      [['--git-staged', '--git-history'], /--git-staged and --git-history: give one/],
      [['--git-staged', 'a', 'b'], /--git-staged reads one repository/],
      [['--token-prefix', 'pat '], /--token-prefix: must be 1 to 16 characters/],
      [['--git-history', 'not-git'], /is not in a git work tree/],
      [['--git-staged', 'not-git'], /is not in a git work tree/],
    ];
    // A token pasted where a path or the prefix goes is not echoed, whole or cut.
    const pasted = newToken().token;
    cases.push(
      [[pasted], /cannot read \(a path that looks like a token, not shown\): ENOENT/],
      [[pasted.slice(0, 50)], /cannot read \(a path that looks like a token, not shown\): ENOENT/],
      [['--token-prefix', pasted], /--token-prefix: must be 1 to 16 characters[^(]*; usage/],
    );
    for (const [args, message] of cases) {
      const run = await scan(args, root);
      assert.ok(!run.stderr.includes(pasted.slice(4, 40)), run.stderr);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(lines(run.stderr).length, 1);
    }
  });
});
