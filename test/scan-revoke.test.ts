// `personal-token scan --revoke` against the real Redis: exactly the live tokens found are revoked;
// a public id, or a live token's id with another secret, revokes nothing; the events name the place,
// never the token.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RedisTokenStore } from '../adapters/redis';
import { TokenService } from '../lib/index';
import { checksum, generateToken } from '../lib/token-format';
import { callerOf } from '../testing/cases/families';
import { cliPrefix, lines, runCli, runCliInProcess, TEST_REDIS_URL } from './cli-support';
import { connectTestRedis, deleteKeys } from './support/redis';

describe('personal-token scan --revoke', () => {
  const prefix = cliPrefix();
  const redis = connectTestRedis();
  // Deadlines for a loaded machine: this test is about what is revoked, not how fast.
  const tokens = new TokenService({ store: new RedisTokenStore(redis, { prefix }), timeout: 10_000 });
  const root = mkdtempSync(join(tmpdir(), 'pat-scan-revoke-'));
  const tree = join(root, 'tree');
  mkdirSync(tree);

  after(async () => {
    rmSync(root, { recursive: true, force: true });
    await deleteKeys(redis, prefix);
    await tokens.close();
    await redis.quit();
  });

  const live = async (expect: boolean, token: string, what: string) =>
    assert.equal((await tokens.authenticate(token, { touch: false })).ok, expect, what);

  test('revokes exactly the live tokens found, says what it did to each, and leaks no text into events', async () => {
    const leaked = await tokens.issue({ user: 'alice', expiresIn: '1h' });
    const leakedTwice = await tokens.issue({ user: 'alice', autoRefresh: '10m' });
    const revokedBefore = await tokens.issue({ user: 'bob', expiresIn: '1h' });
    await tokens.revoke(revokedBefore.id);
    const idOnly = await tokens.issue({ user: 'bob', expiresIn: '1h' });
    const otherSecret = await tokens.issue({ user: 'carol', expiresIn: '1h' });
    const neverIssued = generateToken('pat_', { autoRefresh: null, hardExpiresAt: null });
    // The live token's id with another secret, its checksum made right: a forgery, not the token.
    const stranger = generateToken('pat_', { autoRefresh: null, hardExpiresAt: null }).token;
    const forgedBody = `pat_${otherSecret.id}${stranger.slice(4 + 16, -6)}`;
    const forged = forgedBody + checksum(forgedBody);

    writeFileSync(join(tree, 'a.env'), `TOKEN=${leaked.token}\n`);
    writeFileSync(join(tree, 'b.json'), JSON.stringify({ t: leakedTwice.token, again: leakedTwice.token }));
    writeFileSync(join(tree, 'c.txt'), `${revokedBefore.token}\n${neverIssued.token}\n`);
    writeFileSync(
      join(tree, 'd.txt'),
      `id ${idOnly.id}\npat_${idOnly.id}\n${forged}\n${otherSecret.id} ${idOnly.token.slice(0, 40)}\n`,
    );
    // A config that gives the store and records the audit events (the program runs in this process).
    writeFileSync(
      join(root, 'events.config.mjs'),
      `export default { redisUrl: ${JSON.stringify(TEST_REDIS_URL)}, keyPrefix: ${JSON.stringify(prefix)}, ` +
        'timeout: 10000, onEvent: (event) => { (globalThis.scanTestEvents ??= []).push(event); } };\n',
    );

    const run = await runCliInProcess(['--config', 'events.config.mjs', 'scan', '--revoke', 'tree'], {
      cwd: root,
    });
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(
      lines(run.stdout),
      [
        `tree/a.env:1:7  token ${leaked.id}  revoked`,
        `tree/b.json:1:7  token ${leakedTwice.id}  revoked`,
        `tree/b.json:1:${7 + leakedTwice.token.length + 11}  token ${leakedTwice.id}  already revoked`,
        `tree/c.txt:1:1  token ${revokedBefore.id}  already revoked`,
        `tree/c.txt:2:1  token ${neverIssued.id}  unknown`,
      ],
      run.stderr,
    );
    await live(false, leaked.token, 'the leaked token');
    await live(false, leakedTwice.token, 'the token leaked twice');
    await live(true, idOnly.token, 'the token whose id alone was in a file');
    await live(true, otherSecret.token, 'the token whose id came with another secret');

    const events = (globalThis as { scanTestEvents?: Record<string, unknown>[] }).scanTestEvents ?? [];
    const leakedEvents = events.filter((event) => event.type === 'leaked');
    assert.deepEqual(
      leakedEvents.map((event) => [event.tokenId, event.source]),
      [
        [leaked.id, 'personal-token scan tree/a.env:1'],
        [leakedTwice.id, 'personal-token scan tree/b.json:1'],
      ],
    );
    const everything = JSON.stringify(events) + run.stdout + run.stderr;
    for (const token of [leaked, leakedTwice, revokedBefore, idOnly, otherSecret, neverIssued]) {
      assert.ok(!everything.includes(token.token));
    }
    assert.ok(!everything.includes(forged));
  });

  test('a leaked parent found by a scan takes its children and grandchildren down (a real process)', async () => {
    const parent = await tokens.issue({ user: 'erin', expiresIn: '1h' });
    const child = await tokens.issueFor(callerOf(parent), { expiresIn: '30m' });
    const grandchild = await tokens.issueFor(callerOf(child), { expiresIn: '20m' });
    const cousin = await tokens.issue({ user: 'erin', expiresIn: '1h' });
    writeFileSync(join(root, 'ci.log'), `export API_TOKEN=${parent.token}\n`);
    const run = await runCli(['--redis', TEST_REDIS_URL, '--prefix', prefix, 'scan', '--revoke', 'ci.log'], {
      cwd: root,
    });
    assert.deepEqual(
      [run.code, lines(run.stdout)],
      [1, [`ci.log:1:18  token ${parent.id}  revoked`]],
      run.stderr,
    );
    await live(false, parent.token, 'the leaked parent');
    await live(false, child.token, 'its child');
    await live(false, grandchild.token, 'its grandchild');
    await live(true, cousin.token, "the same user's token outside the family");
  });

  test('a file holding only public ids revokes nothing and exits 0 (a real process)', async () => {
    const kept = await tokens.issue({ user: 'dave', expiresIn: '1h' });
    writeFileSync(join(root, 'ids.txt'), `${kept.id}\npat_${kept.id}\ntoken ${kept.id}\n`);
    const run = await runCli(['--redis', TEST_REDIS_URL, '--prefix', prefix, 'scan', '--revoke', 'ids.txt'], {
      cwd: root,
    });
    assert.deepEqual([run.code, run.stdout], [0, ''], run.stderr);
    await live(true, kept.token, 'the token whose id was in the file');
  });

  test("--token-prefix other than the store's, and a store that is down: refused before any scan", async () => {
    const otherPrefix = await runCliInProcess(
      ['--redis', TEST_REDIS_URL, '--prefix', prefix, 'scan', '--revoke', '--token-prefix', 'ghx_', 'tree'],
      { cwd: root },
    );
    assert.equal(otherPrefix.code, 2);
    assert.match(otherPrefix.stderr, /--token-prefix ghx_ is not the store's \(pat_\)/);
    const down = await runCliInProcess(['--redis', 'redis://127.0.0.1:1', 'scan', '--revoke', 'tree'], {
      cwd: root,
    });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    assert.equal(down.stdout, '');
  });
});
