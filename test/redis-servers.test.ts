// Proves the throwaway-Redis helper works: single servers that are killed, paused and restarted,
// a 3+3 Cluster that survives a master kill, and a Sentinel pair that fails over. The reliability
// tests build on these guarantees.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from './support/free-port';
import { startCluster } from './support/redis-cluster';
import { askRedis } from './support/redis-connections';
import { startSentinel } from './support/redis-sentinel';
import { startRedis } from './support/redis-server';

/** True while the pid names a process that is not a zombie. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('freePort', () => {
  test('hands out distinct ports, with the cluster bus port free when asked', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort({ clusterBus: true })]);
    assert.equal(new Set(ports).size, 3);
    assert.ok(ports[2]! + 10000 <= 65535);
  });
});

describe('startRedis', () => {
  test('serves SET/GET, pauses, resumes, and gets AOF data back after SIGKILL + restart', async () => {
    const server = await startRedis({ aof: true });
    try {
      assert.ok(isAlive(server.pid));
      assert.equal(server.url, `redis://127.0.0.1:${server.port}`);
      const client = server.client({ commandTimeout: 300, maxRetriesPerRequest: 0 });
      await client.set('greeting', 'hello', 'PX', 60000);
      assert.equal(await client.get('greeting'), 'hello');

      server.pause();
      await assert.rejects(client.get('greeting'), /Command timed out/);
      server.resume();
      assert.equal(await client.get('greeting'), 'hello');

      const firstPid = server.pid;
      await server.kill();
      assert.equal(isAlive(firstPid), false);
      await assert.rejects(
        askRedis(server.port, (redis) => redis.ping()),
        /ECONNREFUSED/,
      );
      await server.restart();
      assert.notEqual(server.pid, firstPid);
      const fresh = server.client();
      assert.equal(await fresh.get('greeting'), 'hello', 'appendfsync always keeps writes across SIGKILL');
      const ttl = await fresh.pttl('greeting');
      assert.ok(ttl > 0 && ttl <= 60000, `TTL survives the restart (${ttl} ms left)`);
    } finally {
      await server.stop();
    }
    assert.equal(server.running, false);
    assert.equal(existsSync(server.dir), false, 'stop() removes the temp dir');
  });

  test('stop() ends a paused server too', async () => {
    const server = await startRedis();
    const { pid } = server;
    server.pause();
    await server.stop();
    assert.equal(isAlive(pid), false);
  });

  for (const ending of ['exit', 'SIGTERM'] as const) {
    test(`a test process that ends by ${ending} leaves no redis-server behind`, async () => {
      // A child test process starts a server and ends without stopping it.
      const script = `
        const { startRedis } = require('./test/support/redis-server.ts');
        startRedis().then((server) => {
          process.stdout.write(String(server.pid) + '\\n');
          if (${JSON.stringify(ending)} === 'SIGTERM') process.kill(process.pid, 'SIGTERM');
          else process.exit(0);
        });`;
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
        cwd: join(__dirname, '..'),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      await new Promise((resolve) => child.once('exit', resolve));
      const pid = Number(output.trim());
      assert.ok(Number.isInteger(pid) && pid > 0, `child reported a pid (${output})`);
      // SIGKILL is delivered synchronously, but the kernel may take a moment to tear the process down.
      for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(isAlive(pid), false);
    });
  }
});

describe('startCluster', () => {
  test('3 masters + 3 replicas serve through ioredis Cluster and survive a master kill', {
    timeout: 60000,
  }, async () => {
    const cluster = await startCluster();
    try {
      assert.equal(cluster.nodes.length, 6);
      const topology = await cluster.topology();
      assert.equal(topology.filter((node) => node.role === 'master').length, 3);
      assert.equal(topology.filter((node) => node.role === 'replica').length, 3);

      const client = cluster.cluster();
      const keys = Array.from({ length: 60 }, (_, i) => `key:${i}`);
      await Promise.all(keys.map((key) => client.set(key, `value of ${key}`)));
      assert.equal(await client.get('key:7'), 'value of key:7');

      const victim = await cluster.masterForKey('key:0');
      const victimId = topology.find((node) => node.port === victim.port)?.id;
      await cluster.waitForReplication();
      await cluster.killNode(victim);

      const after = await cluster.topology();
      assert.notEqual(await cluster.masterForKey('key:0'), victim, 'a replica took over the slots');
      assert.ok(after.find((node) => node.id === victimId)?.failed, 'the killed master is marked failed');
      const values = await Promise.all(keys.map((key) => client.get(key)));
      assert.deepEqual(
        values,
        keys.map((key) => `value of ${key}`),
      );
      await client.set('key:0', 'written after failover');
      assert.equal(await client.get('key:0'), 'written after failover');
    } finally {
      await cluster.stop();
    }
    assert.ok(cluster.nodes.every((node) => !node.running));
  });
});

describe('startSentinel', () => {
  test('1 master + 1 replica + 3 sentinels fail over, the data stays readable', {
    timeout: 60000,
  }, async () => {
    const sentinel = await startSentinel();
    try {
      assert.equal(sentinel.sentinels.length, 3);
      assert.equal(await sentinel.masterPort(), sentinel.master.port);

      const client = sentinel.client();
      await client.set('before-failover', 'kept', 'PX', 60000);
      assert.equal(await client.get('before-failover'), 'kept');

      const promoted = await sentinel.failover();
      assert.equal(promoted, sentinel.replica);
      assert.equal(sentinel.master.running, false);
      assert.equal(await sentinel.masterPort(), sentinel.replica.port);

      assert.equal(await client.get('before-failover'), 'kept');
      await client.set('after-failover', 'written');
      assert.equal(
        await sentinel.replica.client().get('after-failover'),
        'written',
        'writes reach the new master',
      );
    } finally {
      await sentinel.stop();
    }
  });
});
