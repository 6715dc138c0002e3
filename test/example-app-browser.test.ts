// The settings page end to end, in headless Chromium (see support/chromium.ts), against the example app
// started as `npm start` does.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEMO_PASSWORD } from '../example-app/users';
import { launchChromium } from './support/chromium';
import { type SpawnedApp, spawnExampleApp } from './support/example-app';

const ARTIFACTS = join(__dirname, '..', 'test-artifacts');

describe('example-app settings page in headless Chromium', () => {
  let app: SpawnedApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  let deployToken: string; // the first token created on the page
  let deployId: string;

  const me = (token: string) =>
    fetch(`${app.baseUrl}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
  const row = (id: string) => page.locator(`#token-${id}`);

  before(async () => {
    browser = await launchChromium();
    app = await spawnExampleApp({ REDIS_URL: undefined, DATA_DIR: undefined });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.baseUrl });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    // A script error or a Content-Security-Policy violation shows up here.
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // Refused requests (the wrong password's 401) are logged as "Failed to load resource": expected.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        pageErrors.push(message.text());
      }
    });
  });

  after(async () => {
    await browser?.close();
    if (app && app.process.exitCode === null) await app.stop();
  });

  test('the page needs a sign-in; a wrong password is refused; the demo password gets in', async () => {
    await page.goto(`${app.baseUrl}/settings/tokens`);
    assert.equal(new URL(page.url()).pathname, '/signin');
    assert.match((await page.locator('.hint').textContent()) ?? '', new RegExp(`password ${DEMO_PASSWORD}`));

    await page.fill('#login', 'admin');
    await page.fill('#password', 'not-the-password');
    await page.click('button[type=submit]');
    assert.match((await page.locator('[role=alert]').textContent()) ?? '', /Wrong login or password/);

    await page.fill('#password', DEMO_PASSWORD);
    await Promise.all([page.waitForURL('**/settings/tokens'), page.click('button[type=submit]')]);
    assert.match((await page.locator('.topbar').textContent()) ?? '', /Signed in as Administrator/);
    // On the memory store, `npm start` created admin's demo token (the one its banner printed).
    await page.locator('#tokens tbody tr', { hasText: 'demo token (npm start)' }).waitFor();

    const [cookie] = await context.cookies();
    assert.equal(cookie?.name, 'example_session');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Lax');
    assert.ok((cookie?.value.length ?? 0) >= 43, 'a 256-bit random id');
  });

  test('creating a token shows it once, with a copy button and usage lines; it works on /api/me', async () => {
    await page.fill('#label', 'deploy script');
    await page.selectOption('#expiresIn', '24h');
    await page.click('#create-token');
    await page.locator('#new-token-panel').waitFor({ state: 'visible' });
    deployToken = (await page.locator('#new-token').textContent()) ?? '';
    // Assertions on token text name no value: a failing test must not print a token either.
    assert.ok(
      /^pat_[0-9a-f]{16}[A-Za-z0-9_-]{43}[0-9a-z]{17}[0-9A-Za-z]{6}$/.test(deployToken),
      'a pat_ token is shown',
    );

    await page.click('#copy-token');
    await page.locator('#copy-token', { hasText: 'Copied' }).waitFor();
    assert.ok(
      (await page.evaluate('navigator.clipboard.readText()')) === deployToken,
      'Copy put it on the clipboard',
    );

    const usage = (await page.locator('#token-usage').textContent()) ?? '';
    assert.ok(usage.includes(`export TOKEN=${deployToken}`));
    assert.ok(usage.includes(`curl -H "Authorization: Bearer $TOKEN" ${app.baseUrl}/api/me`));
    assert.ok(usage.includes(`rclone ls :webdav: --webdav-url ${app.baseUrl}/dav/ --webdav-user admin`));

    const res = await me(deployToken);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { login: string; tokenId: string; scopes: string[] };
    assert.equal(body.login, 'admin');
    assert.deepEqual(body.scopes, []);
    deployId = body.tokenId;
    await row(deployId).waitFor();
    assert.match((await row(deployId).textContent()) ?? '', /deploy script.*full access.*in 23 h 59 min/s);
  });

  test('a scoped, sliding token; rotating it with an overlap keeps the old one working for a while', async () => {
    await page.fill('#label', 'nightly backup');
    await page.selectOption('#expiresIn', '30d');
    await page.selectOption('#autoRefresh', '24h');
    await page.selectOption('#scope-node', { label: '/docs/' });
    await page.selectOption('#scope-permission', 'r');
    await page.click('#add-scope');
    assert.equal(await page.locator('#scope-list li').textContent(), '/docs · read×');
    await page.click('#create-token');
    await page.locator('#new-token-title', { hasText: 'nightly backup' }).waitFor();
    const backupToken = (await page.locator('#new-token').textContent()) ?? '';
    // The commands shown name what this token can read: /docs/, not the whole share (a 403).
    const scopedUsage = (await page.locator('#token-usage').textContent()) ?? '';
    assert.ok(scopedUsage.includes(`-X PROPFIND -H 'Depth: 1' ${app.baseUrl}/dav/docs/`), scopedUsage);
    assert.ok(scopedUsage.includes(`--webdav-url ${app.baseUrl}/dav/docs/ `), scopedUsage);
    const listed = await fetch(`${app.baseUrl}/dav/docs/`, {
      method: 'PROPFIND',
      headers: {
        depth: '1',
        authorization: `Basic ${Buffer.from(`admin:${backupToken}`).toString('base64')}`,
      },
    });
    assert.equal(listed.status, 207);
    const backupId = ((await (await me(backupToken)).json()) as { tokenId: string }).tokenId;
    const backupRow = (await row(backupId).textContent()) ?? '';
    assert.match(backupRow, /\/docs · read/);
    assert.match(backupRow, /if unused.*sliding: 1 d after each use.*never after/s);

    await row(backupId).locator('button.rotate').click();
    await page.selectOption('#rotate-overlap', '10m');
    await page.click('#confirm-rotate');
    await page.locator('#new-token-title', { hasText: 'rotated' }).waitFor();
    const rotatedToken = (await page.locator('#new-token').textContent()) ?? '';
    assert.ok(rotatedToken.startsWith('pat_') && rotatedToken !== backupToken, 'a new token is shown');
    assert.match((await page.locator('#new-token-note').textContent()) ?? '', /keeps working until/);
    assert.equal((await me(rotatedToken)).status, 200);
    assert.equal((await me(backupToken)).status, 200, 'the old one still works during the overlap');
  });

  test('after a reload: no token text anywhere, "last used" filled in; screenshot', async () => {
    await page.reload();
    await row(deployId).waitFor();
    assert.equal(await page.locator('#new-token-panel').isVisible(), false);
    const html = await page.content();
    assert.ok(!html.includes(deployToken), 'a token is shown only when it is created');
    assert.equal(await row(deployId).locator('.last-used').textContent(), 'just now');
    // The example app records client IPs (trackIp): the test's requests came from the loopback.
    assert.match(
      (await row(deployId).locator('.recent-ip').first().textContent()) ?? '',
      /^\S*127\.0\.0\.1 · just now$/,
    );
    assert.equal(
      await page.locator('#tokens tbody tr').count(),
      4,
      'demo, deploy, backup (in its overlap), rotated',
    );

    // The state worth looking at: a fresh token on show above the list (its text masked in the picture).
    await page.fill('#label', 'laptop (WebDAV)');
    await page.selectOption('#expiresIn', '7d');
    await page.click('#create-token');
    await page.locator('#new-token-title', { hasText: 'laptop' }).waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({
      path: join(ARTIFACTS, 'settings-tokens.png'),
      fullPage: true,
      mask: [page.locator('[data-secret]')],
    });
  });

  test('revoking it on the page: the next request with it fails', async () => {
    page.once('dialog', (dialog) => void dialog.accept());
    await row(deployId).locator('button.revoke').click();
    await row(deployId).waitFor({ state: 'detached' });
    assert.equal((await me(deployToken)).status, 401);
  });

  test('the API refuses a state-changing request without the CSRF token (403), with it passes', async () => {
    // A string, not a function: tsx would wrap a function's inner helpers in its own `__name`, unknown in the page.
    const statuses = await page.evaluate(`(async () => {
      const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
      const statuses = [];
      for (const headers of [{}, { 'X-CSRF-Token': 'forged' }, { 'X-CSRF-Token': csrf }]) {
        const res = await fetch('/settings/api/tokens', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...headers },
          body: JSON.stringify({ expiresIn: '1h', label: 'csrf check' }),
        });
        statuses.push(res.status);
      }
      return statuses;
    })()`);
    assert.deepEqual(statuses, [403, 403, 201]);
  });

  test('signing out ends the session', async () => {
    await Promise.all([page.waitForURL('**/signin'), page.click('.topbar button[type=submit]')]);
    await page.goto(`${app.baseUrl}/settings/tokens`);
    assert.equal(new URL(page.url()).pathname, '/signin');
    assert.deepEqual(pageErrors, [], 'no script errors or CSP violations on the pages');
  });
});
