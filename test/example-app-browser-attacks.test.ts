// The two browser attacks an outside review ran against the example app, replayed in headless Chromium
// (see support/chromium.ts) against the app started as `npm start` does. The victim is signed in to the
// settings page and the browser remembers their WebDAV Basic credentials (it answers every challenge).
// 1. A file planted in WebDAV, opened by the victim, would read the settings page's CSRF token and mint a
//    token: nothing of it runs, nothing is minted.
// 2. A page on another site auto-submits a form POST into WebDAV: nothing is written.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEMO_PASSWORD } from '../example-app/users';
import { launchChromium } from './support/chromium';
import { type SpawnedApp, spawnExampleApp } from './support/example-app';

const MARKER_PATH = '/planted-script-ran';

// What the review's planted page did: read the CSRF token off the settings page and mint a 90-day token.
const PLANTED_PAGE = `<!DOCTYPE html><html><body><h1>Quarterly report</h1><script>
fetch(${JSON.stringify(MARKER_PATH)});
(async () => {
  const settings = await (await fetch('/settings/tokens')).text();
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(settings)[1];
  await fetch('/settings/api/tokens', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
    body: JSON.stringify({ expiresIn: '90d', label: 'planted' }),
  });
  await fetch(${JSON.stringify(`${MARKER_PATH}/minted`)});
})();
</script></body></html>`;

describe('example-app against browser attacks, in headless Chromium', () => {
  let app: SpawnedApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const markers: string[] = []; // requests the planted script made, if it ever ran

  const davAuth = () => `Basic ${Buffer.from(`admin:${app.demoToken}`).toString('base64')}`;
  const tokenCount = async () => {
    const res = await fetch(`${app.baseUrl}/api/tokens`, {
      headers: { Authorization: `Bearer ${app.demoToken}` },
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { tokens: unknown[] }).tokens.length;
  };
  /** What anyone with write access can do: upload the page into WebDAV. */
  const plant = async (davPath: string) => {
    const res = await fetch(`${app.davUrl}${davPath}`, {
      method: 'PUT',
      headers: { Authorization: davAuth() },
      body: PLANTED_PAGE,
    });
    assert.equal(res.status, 201);
  };
  /** Opens a URL as a victim would (a link, a bookmark); true if the browser made it a download. */
  const open = async (url: string): Promise<boolean> => {
    const download = page.waitForEvent('download', { timeout: 15_000 }).then(
      () => true,
      () => false,
    );
    const shown = await page.goto(url).then(
      () => true,
      (error: Error) => {
        if (/Download is starting/.test(error.message)) return false;
        throw error;
      },
    );
    return shown ? false : download;
  };

  before(async () => {
    browser = await launchChromium();
    app = await spawnExampleApp({ REDIS_URL: undefined, DATA_DIR: undefined });
    context = await browser.newContext({
      httpCredentials: { username: 'admin', password: app.demoToken! },
      acceptDownloads: true,
    });
    context.setDefaultTimeout(15_000);
    context.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith(MARKER_PATH)) markers.push(request.url());
    });
    page = await context.newPage();
    await page.goto(`${app.baseUrl}/signin`);
    await page.fill('#login', 'admin');
    await page.fill('#password', DEMO_PASSWORD);
    await Promise.all([page.waitForURL('**/settings/tokens'), page.click('button[type=submit]')]);
  });

  after(async () => {
    await browser?.close();
    if (app && app.process.exitCode === null) await app.stop();
  });

  test('a planted HTML file opened by a signed-in user runs nothing and mints nothing', async () => {
    await plant('docs/report.html');
    const propfind = await fetch(`${app.baseUrl}/api/nodes?path=/docs/report.html`, {
      headers: { Authorization: `Bearer ${app.demoToken}` },
    });
    const { uuid } = (await propfind.json()) as { uuid: string };
    const before = await tokenCount();

    for (const url of [`${app.davUrl}docs/report.html`, `${app.baseUrl}/api/nodes/${uuid}`]) {
      assert.equal(await open(url), true, `${url} is a download, not a page`);
    }
    assert.deepEqual(markers, [], 'the planted script never ran');
    assert.equal(await tokenCount(), before, 'no token was minted');
  });

  test('a planted page named .txt is shown as text: its markup is not parsed, its script does not run', async () => {
    await plant('docs/notes.txt');
    const before = await tokenCount();
    assert.equal(await open(`${app.davUrl}docs/notes.txt`), false, 'plain text is shown inline');
    assert.equal(await page.locator('h1').count(), 0, 'not parsed as HTML');
    assert.ok(((await page.textContent('body')) ?? '').includes('<script>'), 'shown as text');
    assert.deepEqual(markers, []);
    assert.equal(await tokenCount(), before);
  });

  describe('a page on another site', () => {
    let attacker: Server;
    let attackerUrl: string;

    before(async () => {
      // Served from localhost: another site than 127.0.0.1, where the app is.
      attacker = createServer((_req, res) => {
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.end(`<!DOCTYPE html><form method="POST" action="${app.davUrl}docs/posted.html" enctype="text/plain">
<input name="&lt;script&gt;fetch('${MARKER_PATH}')&lt;/script&gt;&lt;!--" value="--&gt;"></form>
<script>document.forms[0].submit()</script>`);
      });
      attacker.listen(0, '127.0.0.1');
      await new Promise((resolve) => attacker.once('listening', resolve));
      attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}/`;
    });
    after(() => attacker.close());

    test('auto-submitting a form POST into WebDAV with remembered credentials writes nothing', async () => {
      const answer = page.waitForResponse((response) => response.url().startsWith(app.davUrl));
      await page.goto(attackerUrl);
      assert.equal((await answer).status(), 405);
      const written = await fetch(`${app.davUrl}docs/posted.html`, { headers: { Authorization: davAuth() } });
      assert.equal(written.status, 404, 'nothing was written');
      assert.deepEqual(markers, []);
    });
  });
});
