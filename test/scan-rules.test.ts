// What docs/leaks.md gives other tools: the gitleaks and TruffleHog rules (a regex pre-filter that
// matches every token the generator makes; the checksum, which only `scan` checks, is the exact test),
// the pre-commit hook script, and the pre-commit framework's entry. Neither gitleaks nor TruffleHog
// is packaged for this machine's Debian, so their regex is tested here rather than the tools run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { MemoryTokenStore } from '../adapters/memory';
import { TokenService } from '../lib/index';
import { scanForTokens } from '../lib/manage/token-scan';
import { formatToken } from '../lib/token-format';
import { codeBlocks } from './support/markdown-blocks';

const root = resolve(__dirname, '..');
const blocks = codeBlocks(join(root, 'docs', 'leaks.md'));
const blockOf = (info: string, holding: string) => {
  const found = blocks.filter((block) => block.info === info && block.code.includes(holding));
  assert.equal(found.length, 1, `one ${info} block with ${holding} in docs/leaks.md`);
  return found[0]!.code;
};

const gitleaks = blockOf('toml', '[[rules]]');
const trufflehog = blockOf('yaml', 'detectors:');
const gitleaksRegex = /^regex = '''(.+)'''$/m.exec(gitleaks)?.[1];
const trufflehogRegex = /^ {6}token: '(.+)'$/m.exec(trufflehog)?.[1];

const anyToken = fc
  .record({
    secret: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    autoRefresh: fc.option(fc.integer({ min: 1, max: 36 ** 8 - 1 }), { nil: null }),
    hardExpiresAt: fc.option(fc.integer({ min: 1, max: 36 ** 9 - 1 }), { nil: null }),
  })
  .map(({ secret, autoRefresh, hardExpiresAt }) =>
    formatToken('pat_', Buffer.from(secret).toString('base64url'), { autoRefresh, hardExpiresAt }),
  );

describe('the gitleaks and TruffleHog rules in docs/leaks.md', () => {
  test('both rules hold the same regex, in the syntax both engines (Go RE2) and JavaScript read alike', () => {
    assert.ok(gitleaksRegex !== undefined && trufflehogRegex !== undefined);
    assert.equal(gitleaksRegex, trufflehogRegex);
    // Only literal characters, classes and counted repeats: no lookaround or backreference (RE2 has
    // none), no flag or escape whose meaning differs between the engines.
    assert.match(gitleaksRegex, /^[A-Za-z0-9_]+(?:\[[A-Za-z0-9_-]+\]\{\d+\})+$/);
    assert.match(gitleaks, /^keywords = \["pat_"\]$/m);
    assert.match(trufflehog, /^ {4}keywords:\n {6}- pat_$/m);
  });

  const whole = new RegExp(`^(?:${gitleaksRegex})$`);
  const within = new RegExp(gitleaksRegex!, 'g');

  test('the regex matches every token the generator makes, whole and within text', () => {
    fc.assert(
      fc.property(anyToken, fc.string(), ({ token }, around) => {
        assert.match(token, whole);
        assert.ok(`${around}${token}${around}`.match(within)?.includes(token));
      }),
      { numRuns: 3000 },
    );
  });

  test('the regex matches what TokenService.issue hands out', async () => {
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    for (const options of [
      { expiresIn: '1h' },
      { autoRefresh: '10m' },
      { autoRefresh: '10m', expiresIn: '30d' },
    ]) {
      const { token } = await tokens.issue({ user: 'alice', ...options });
      assert.match(token, whole);
    }
    await tokens.close();
  });

  test('a token with one character changed may still match the regex, but fails the checksum in scan', () => {
    fc.assert(
      fc.property(anyToken, fc.nat(), fc.nat(), ({ token }, at, pick) => {
        const index = 4 + (at % (token.length - 4));
        // A replacement of the same class, so the regex alone cannot tell.
        const char = token[index]!;
        const kind = /[0-9]/.test(char)
          ? '0123456789'
          : /[a-f]/.test(char)
            ? 'abcdef'
            : /[g-z]/.test(char)
              ? 'ghijklmnopqrstuvwxyz'
              : 'ABCDEF';
        const choices = [...kind].filter((char) => char !== token[index]);
        const changed = token.slice(0, index) + choices[pick % choices.length] + token.slice(index + 1);
        assert.match(changed, whole);
        assert.deepEqual(scanForTokens(changed, 'pat_'), []);
        assert.equal(scanForTokens(token, 'pat_').length, 1);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the pre-commit hook in docs/leaks.md and .pre-commit-hooks.yaml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pat-hook-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
      cwd: dir,
      env,
      encoding: 'utf8',
      stdio: 'pipe',
    });

  test('the hook refuses a commit that adds a token, naming the place and not the token, and lets others pass', async () => {
    const script = blockOf('sh', '#!/bin/sh');
    assert.match(script, /^#!\/bin\/sh\n/);
    // The project's installed `personal-token` is this checkout's CLI here.
    const cli = `${process.execPath} --import ${pathToFileURL(require.resolve('tsx')).href} ${join(root, 'cli', 'main.ts')}`;
    const hook = script.replace('npx --no-install personal-token', cli);
    assert.notEqual(hook, script);
    git('init', '-q');
    writeFileSync(join(dir, '.git', 'hooks', 'pre-commit'), hook);
    chmodSync(join(dir, '.git', 'hooks', 'pre-commit'), 0o755);
    writeFileSync(join(dir, 'readme.txt'), 'nothing secret\n');
    git('add', '-A');
    git('commit', '-qm', 'clean');
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    const { token, id } = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    await tokens.close();
    writeFileSync(join(dir, 'deploy.env'), `HOST=x\nTOKEN=${token}\n`);
    git('add', '-A');
    const refused = (() => {
      try {
        git('commit', '-qm', 'leak');
        return undefined;
      } catch (error) {
        return error as { status: number; stdout: string; stderr: string };
      }
    })();
    assert.ok(refused !== undefined, 'the commit went through');
    // git runs a hook with its stdout on git's stderr.
    assert.match(refused.stderr, new RegExp(`^deploy\\.env:2:7  token ${id}$`, 'm'));
    assert.equal(refused.status, 1);
    assert.ok(!`${refused.stdout}${refused.stderr}`.includes(token));
    assert.equal(git('log', '--format=%s').trim(), 'clean');
  });

  test('.pre-commit-hooks.yaml offers personal-token-scan over the staged changes', () => {
    const entry = readFileSync(join(root, '.pre-commit-hooks.yaml'), 'utf8');
    assert.match(entry, /^- id: personal-token-scan$/m);
    assert.match(entry, /^ {2}entry: npx --no-install personal-token scan --git-staged$/m);
    assert.match(entry, /^ {2}pass_filenames: false$/m);
    assert.match(entry, /^ {2}language: system$/m);
    assert.match(blockOf('yaml', 'repos:'), /- id: personal-token-scan/);
  });
});
