// `npm run bench`: the benchmark. Starts its own Redis, seeds it, starts every server as its
// own process, loads them from a separate autocannon process, interleaved over several rounds
// (1 2 3 4 5 6, 1 2 3 ...), and reports medians, each as a ratio to the floor (server 2), as a
// table and as JSON (bench/results.json or --out). `npm run bench -- --help` lists the options.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { removeOnExit } from '../test/support/owned-processes';
import {
  callgrindAvailable,
  countEveryServer,
  INSTRUCTION_PLAN,
  QUICK_INSTRUCTION_PLAN,
} from './instructions';
import { type LoadGenerator, startLoadGenerator } from './load';
import { type Measurement, measure } from './measure';
import { parseOptions } from './options';
import { type BenchRedis, startBenchRedis } from './redis-server';
import { redisDelta, redisSnapshot } from './redis-stats';
import {
  checkTargets,
  type FloodResult,
  formatFloods,
  formatInstructions,
  formatTable,
  formatTargets,
  type InstructionResult,
  median,
  NOISE_NOTE,
  summarizeServers,
} from './report';
import { type SeedResult, seed, TOKENS_PER_USER } from './seed';
import {
  BASELINE_SERVERS,
  SERVERS,
  type ServerDefinition,
  STRATEGY_SERVER,
  scaleServer,
} from './server-list';
import { type ServerProcess, startServer } from './server-process';

const log = (line = '') => console.log(line);
const number = (n: number) => Math.round(n).toLocaleString('en-US');

interface Running {
  definition: ServerDefinition;
  process: ServerProcess;
  /** The harness' own connection to the Redis this server uses, for INFO; null if it uses none. */
  redis: Redis | null;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const startedAt = Date.now();
  const definitions = SERVERS.filter((server) => options.servers.includes(server.id));
  if (options.scale !== null && options.servers.includes(3)) definitions.push(scaleServer(options.scale));
  if (options.withStrategy) definitions.push(STRATEGY_SERVER);
  if (options.withBaselines) definitions.push(...BASELINE_SERVERS);
  const needsLibrary = definitions.some((server) => server.library);
  if (options.instructions && !(await callgrindAvailable())) {
    console.error(
      'bench: --instructions needs valgrind and callgrind_control (Debian: apt-get install valgrind)',
    );
    process.exit(2);
  }

  log(`personal-token-auth benchmark${options.quick ? ' (--quick: short, rough figures)' : ''}`);
  log(
    `${number(options.tokens)} tokens, ${options.rounds} rounds × ${options.durationSec} s per server, ` +
      `${options.connections} connections; node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)}`,
  );
  log(NOISE_NOTE);
  log();

  const tempDir = removeOnExit(mkdtempSync(join(tmpdir(), 'pat-bench-')));
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => {});
  };
  try {
    const redis = await startBenchRedis();
    cleanups.push(() => redis.stop());
    const harnessRedis = new Redis(redis.url);
    cleanups.push(async () => harnessRedis.disconnect());
    const redisVersion = /^redis_version:(\S+)/m.exec(await harnessRedis.info('server'))?.[1] ?? 'unknown';
    const jwtSecret = randomBytes(32).toString('base64url');

    const seeded = await seed({
      redisUrl: redis.url,
      tokens: options.tokens,
      library: needsLibrary,
      rawKeys: definitions.some((server) => server.id === 2 || server.id === 9),
      naiveKeys: options.servers.includes(5),
      jwtSecret,
      dir: tempDir,
      log,
    });

    let scaleRedis: BenchRedis | null = null;
    let scaleHarnessRedis: Redis | null = null;
    let scaleSeeded: SeedResult | null = null;
    if (definitions.some((server) => server.store === 'scale') && options.scale !== null) {
      scaleRedis = await startBenchRedis();
      cleanups.push(() => scaleRedis!.stop());
      scaleHarnessRedis = new Redis(scaleRedis.url);
      cleanups.push(async () => scaleHarnessRedis!.disconnect());
      const scaleDir = join(tempDir, 'scale');
      mkdirSync(scaleDir, { mode: 0o700 });
      log(`--scale: a second Redis for server 3 with ${number(options.scale)} tokens`);
      scaleSeeded = await seed({
        redisUrl: scaleRedis.url,
        tokens: options.scale,
        library: true,
        rawKeys: false,
        naiveKeys: false,
        jwtSecret,
        dir: scaleDir,
        log,
      });
    }

    const load: LoadGenerator = await startLoadGenerator({
      credentials: seeded.credentialsFile,
      jwts: seeded.jwtFile,
      scaleCredentials: scaleSeeded?.credentialsFile ?? null,
    });
    cleanups.push(() => load.stop());

    let profileDir: string | null = null;
    if (options.profile) {
      profileDir = resolve(options.profile);
      mkdirSync(profileDir, { recursive: true });
    }
    const serverEnv = (definition: ServerDefinition) => ({
      REDIS_URL: (definition.store === 'scale' ? scaleRedis! : redis).url,
      BENCH_JWT_SECRET: jwtSecret,
    });
    const running: Running[] = await Promise.all(
      definitions.map(async (definition) => {
        const onScale = definition.store === 'scale';
        // One dir per server: a process writes one profile per thread (tsx's loader runs in a worker).
        const flags = profileDir
          ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, `server-${definition.id}-${definition.key}`)}`]
          : [];
        const serverProcess = await startServer(definition.file, serverEnv(definition), flags);
        cleanups.push(() => serverProcess.stop());
        return {
          definition,
          process: serverProcess,
          redis: definition.usesRedis ? (onScale ? scaleHarnessRedis : harnessRedis) : null,
        };
      }),
    );
    const poolOf = (definition: ServerDefinition) => definition.store;

    log(`warming up (${options.warmupSec} s per server) ...`);
    for (const { definition, process: server } of running) {
      await load.run({
        url: server.url,
        kind: definition.load,
        pool: poolOf(definition),
        connections: options.connections,
        durationSec: options.warmupSec,
      });
    }

    const measurements = new Map<number, Measurement[]>(running.map(({ definition }) => [definition.id, []]));
    for (let round = 1; round <= options.rounds; round++) {
      const line: string[] = [];
      for (const { definition, process: server, redis: serverRedis } of running) {
        const measurement = await measure(server, serverRedis, load, definition.load, {
          connections: options.connections,
          durationSec: options.durationSec,
          pool: poolOf(definition),
        });
        measurements.get(definition.id)!.push(measurement);
        line.push(`${definition.id}: ${number(measurement.reqPerSec)}`);
      }
      log(`round ${round}/${options.rounds}  req/s  ${line.join('  ')}`);
    }

    const floods: FloodResult[] = [];
    const flooded = running.filter(
      ({ definition }) =>
        definition.flood && (!options.quick || definition.library) && definition.store === 'main',
    );
    if (flooded.length > 0)
      log(`flooding with malformed / bad-checksum tokens (${options.floodSec} s per server) ...`);
    for (const { definition, process: server } of flooded) {
      const before = await redisSnapshot(harnessRedis);
      const serverBefore = await server.stats();
      const result = await load.run({
        url: server.url,
        kind: definition.flood!,
        pool: 'main',
        connections: options.connections,
        durationSec: options.floodSec,
      });
      await new Promise((done) => setTimeout(done, 100));
      const serverAfter = await server.stats();
      const delta = redisDelta(before, await redisSnapshot(harnessRedis));
      floods.push({
        id: definition.id,
        key: definition.key,
        name: definition.name,
        reqPerSec: result.reqPerSec,
        requests: serverAfter.requests - serverBefore.requests,
        redisCalls: delta.totalCalls,
        redisCommandsSent: serverAfter.redisCommands - serverBefore.redisCommands,
        statusCounts: result.statusCounts,
      });
    }

    // Everything each server did since it started (warm-up and flood included): what a --profile
    // covers, so that profile time can be turned into time per request.
    const lifetimes = await Promise.all(
      running.map(async ({ process: server }) => {
        const stats = await server.stats();
        return { requests: stats.requests, cpuUs: stats.cpuUserUs + stats.cpuSystemUs };
      }),
    );
    // Stopping the servers cleanly now writes their CPU profiles (--profile) before the report.
    await Promise.all(running.map(({ process: server }) => server.stop()));

    const plan = options.quick ? QUICK_INSTRUCTION_PLAN : INSTRUCTION_PLAN;
    let instructions: InstructionResult[] = [];
    if (options.instructions) {
      log(
        `counting instructions per request under callgrind: ${number(plan.warmupRequests)} requests of warm-up, ` +
          `then ${plan.windows} × ${number(plan.windowRequests)} counted, ${plan.connections} connections, ` +
          `${cpus().length} servers at a time (minutes) ...`,
      );
      instructions = await countEveryServer(definitions, {
        env: serverEnv,
        pool: poolOf,
        load,
        dir: join(tempDir, 'callgrind'),
        plan,
        log,
      });
    }

    const servers = summarizeServers(
      running.map(({ definition }) => definition),
      measurements,
    ).map((server, index) => ({ ...server, lifetime: lifetimes[index]! }));
    const scale =
      options.scale !== null && scaleSeeded ? { tokens: options.scale, baseTokens: options.tokens } : null;
    const targets = checkTargets(servers, floods, seeded.memory, scale, instructions);

    log();
    log(
      `Medians of ${options.rounds} rounds; in brackets, the ratio to server 2 (the floor): the median of ` +
        'the ratios within each round.',
    );
    log(formatTable(servers));
    log(
      '  Redis cmds/req: commands the server sent (one EVALSHA counts once); incl. Lua: what Redis executed,',
    );
    log('  the commands inside scripts included (INFO commandstats); Redis µs/req: Redis CPU per request.');
    const loadCpu = median(
      servers.flatMap((server) => server.rounds.map((r) => r.loadGeneratorCpuUsPerRequest)),
    );
    log(
      `  The load generator itself used ${loadCpu.toFixed(0)} µs CPU per request, on the same ${cpus().length} CPUs ` +
        'as the server and Redis: req/s moves less than CPU/req does.',
    );
    for (const server of servers) {
      for (const warning of server.warnings) log(`  WARNING server ${server.id} ${server.key}: ${warning}`);
    }
    if (floods.length > 0) {
      log();
      log(`Flood of malformed / bad-checksum tokens (${options.floodSec} s per server):`);
      log(formatFloods(floods));
    }
    for (const [label, result] of [
      ['', seeded],
      [' (--scale store)', scaleSeeded],
    ] as const) {
      const memory = result?.memory;
      if (!memory || !result) continue;
      log();
      log(
        `Redis memory per stored token${label}, ${number(result.tokens)} tokens, ${TOKENS_PER_USER} per user: ` +
          `${memory.bytesPerToken.toFixed(0)} B = ${memory.tokenHashBytes.toFixed(0)} B token hash (${memory.tokenEncoding}) ` +
          `+ ${memory.indexBytesPerToken.toFixed(0)} B share of the per-user index (${memory.indexEncoding}); ` +
          `MEMORY USAGE over ${memory.sampledTokens} tokens. used_memory grew ${memory.usedMemoryDeltaPerToken.toFixed(0)} B per token ` +
          '(that also counts the main and expires dict entries).',
      );
    }
    if (instructions.length > 0) {
      log();
      log(
        `Instructions per request (valgrind callgrind; ${plan.windows} windows of ${number(plan.windowRequests)} ` +
          `requests after ${number(plan.warmupRequests)} of warm-up, ${plan.connections} connections), ratio to the floor; ` +
          'spread: (max - min) / mean over the windows:',
      );
      log(formatInstructions(instructions));
    }
    log();
    log('Targets:');
    log(formatTargets(targets));

    const results = {
      benchmark: 'personal-token-auth',
      generatedAt: new Date().toISOString(),
      note: NOISE_NOTE,
      environment: {
        node: process.version,
        redis: redisVersion,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        loadAverageAtStart: loadavg()[0],
      },
      options: { ...options, out: undefined },
      seed: {
        tokens: seeded.tokens,
        users: seeded.users,
        tokensPerUser: TOKENS_PER_USER,
        tokenSource: seeded.tokenSource,
        issuesPerSecond: Math.round(seeded.issuesPerSecond),
        jwts: seeded.jwts,
      },
      memory: seeded.memory,
      scale: scaleSeeded
        ? {
            tokens: scaleSeeded.tokens,
            issuesPerSecond: Math.round(scaleSeeded.issuesPerSecond),
            memory: scaleSeeded.memory,
          }
        : null,
      servers,
      floods,
      instructions: options.instructions ? { plan, servers: instructions } : null,
      targets,
      durationSec: Math.round((Date.now() - startedAt) / 1000),
    };
    mkdirSync(dirname(resolve(options.out)), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
    log();
    log(`Results written to ${options.out} (${results.durationSec} s).`);
    if (profileDir) {
      log(
        `CPU profiles of the servers in ${profileDir}/server-*/ (the largest file of each is the main thread):`,
      );
      log('summarise one (or compare two) with bench/profile-summary.ts, or open it in Chrome DevTools:');
      for (const server of servers) {
        log(
          `  server ${server.id}: ${server.lifetime.requests} requests in its lifetime (<file>=${server.lifetime.requests})`,
        );
      }
    }
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
