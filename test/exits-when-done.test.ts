import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { TEST_REDIS_URL } from './support/redis';

// A store call's deadline must not keep a process alive: a script that issued its token, or a server
// that closed, exits when its work is done. Each case runs as a child process with a 10-minute store
// timeout; the 2-minute guard only catches a child that would wait for that timeout (a loaded
// machine can take many seconds to start one). It is not a speed assertion: a child that exits at
// all, before the guard, passes.
const root = join(__dirname, '..');
const GUARD_MS = 120_000;
const STORE_TIMEOUT = '600_000';

function exitOf(script: string): Promise<{ code: number | null; killed: boolean; output: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=personal-token-auth-source', '-e', `(async () => {${script}})()`],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  let killed = false;
  const guard = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, GUARD_MS);
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, killed, output });
    });
  });
}

test('a script that issues and verifies one token exits on its own', async () => {
  const run = await exitOf(`
    const { TokenService } = require('personal-token-auth');
    const { MemoryTokenStore } = require('personal-token-auth/adapters/memory');
    const tokens = new TokenService({ store: new MemoryTokenStore(), timeout: ${STORE_TIMEOUT} });
    const { token } = await tokens.issue({ user: 'ada', expiresIn: '1h' });
    const info = await tokens.verify(token);
    console.log(info?.user);
  `);
  assert.equal(run.killed, false, `the script was still running at the guard: ${run.output}`);
  assert.equal(run.code, 0, run.output);
  assert.equal(run.output.trim(), 'ada');
});

test('a server behind the middleware exits on its own once closed', async () => {
  const run = await exitOf(`
    const express = require('express');
    const { personalTokenAuth, TokenService } = require('personal-token-auth');
    const { MemoryTokenStore } = require('personal-token-auth/adapters/memory');
    const tokens = new TokenService({ store: new MemoryTokenStore(), timeout: ${STORE_TIMEOUT} });
    const { token } = await tokens.issue({ user: 'ada', expiresIn: '1h' });
    const app = express();
    app.use(personalTokenAuth({ tokens }));
    app.get('/', (req, res) => res.send(req.authInfo?.login));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const response = await fetch('http://127.0.0.1:' + server.address().port + '/', {
      headers: { authorization: 'Bearer ' + token },
    });
    console.log(response.status, await response.text());
    server.closeAllConnections();
    server.close();
    await tokens.close();
  `);
  assert.equal(run.killed, false, `the server was still running at the guard: ${run.output}`);
  assert.equal(run.code, 0, run.output);
  assert.equal(run.output.trim(), '200 ada');
});

// In plain JavaScript `token` for `tokens` once got the default service: a Redis client nobody
// closes, and a process that never ends. Any mistake in the options is thrown before it exists.
test('a misspelt option of personalTokenAuth() throws before any Redis client exists, and the process exits', async () => {
  const run = await exitOf(`
    const { personalTokenAuth, TokenService } = require('personal-token-auth');
    const { MemoryTokenStore } = require('personal-token-auth/adapters/memory');
    const tokens = new TokenService({ store: new MemoryTokenStore() });
    const redisLoaded = () => Object.keys(require.cache).some((file) => /[\\\\/]node_modules[\\\\/]ioredis[\\\\/]/.test(file));
    for (const options of [{ token: tokens }, { tokens: undefined }, { realm: 'bad"realm' }, { throttle: { maxFailures: 0, window: '1m' } }]) {
      try {
        personalTokenAuth(options);
        console.log('accepted');
      } catch (error) {
        console.log(error.code ?? error.name, redisLoaded());
      }
    }
  `);
  assert.equal(run.killed, false, `the script was still running at the guard: ${run.output}`);
  assert.equal(run.code, 0, run.output);
  assert.deepEqual(run.output.trim().split('\n'), [
    'ERR_UNKNOWN_OPTION false',
    'TypeError false',
    'TypeError false',
    'TypeError false',
  ]);
});

// The cache subscribes to the store's channel on a connection of its own: a service refused for
// another option must not have opened it, or nothing the app can reach would close it.
test('a TokenService refused for a bad option leaves no cache subscription open, and the process exits', async () => {
  const run = await exitOf(`
    const { Redis } = require('ioredis');
    const { TokenService } = require('personal-token-auth');
    const { RedisTokenStore } = require('personal-token-auth/adapters/redis');
    const client = new Redis(${JSON.stringify(TEST_REDIS_URL)}, { lazyConnect: true });
    const store = new RedisTokenStore(client, { prefix: 'test:exits:' });
    try {
      new TokenService({ store, cache: { maxStale: '1s' }, maxTokensPerUser: 0 });
      console.log('accepted');
    } catch (error) {
      console.log(error.name);
    }
    client.disconnect();
  `);
  assert.equal(run.killed, false, `the script was still running at the guard: ${run.output}`);
  assert.equal(run.code, 0, run.output);
  assert.equal(run.output.trim(), 'TypeError');
});
