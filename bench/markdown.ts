// Prints the figures of a results.json as Markdown, for the README's "Performance" section:
//   npx tsx bench/markdown.ts [bench/results.json]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstructionPlan } from './instructions';
import type { TokenMemory } from './memory';
import {
  type FloodResult,
  formatTable,
  type InstructionResult,
  type ServerResult,
  type TargetCheck,
} from './report';

interface Results {
  generatedAt: string;
  environment: { node: string; redis: string; cpus: number; cpuModel: string };
  options: { tokens: number; rounds: number; durationSec: number; connections: number; scale: number | null };
  seed: { tokensPerUser: number };
  memory: TokenMemory | null;
  servers: ServerResult[];
  floods: FloodResult[];
  targets: TargetCheck[];
  instructions?: { plan: InstructionPlan; servers: InstructionResult[] } | null;
}

const file = process.argv[2] ?? join(__dirname, 'results.json');
const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
const { environment: env, options } = results;
const number = (n: number) => Math.round(n).toLocaleString('en-US');

const lines = [
  `${number(options.tokens)} tokens stored${options.scale ? ` (server 7: ${number(options.scale)})` : ''}, ` +
    `${options.rounds} rounds × ${options.durationSec} s per server, ${options.connections} connections, ` +
    `medians; Node ${env.node}, Redis ${env.redis}, ${env.cpus} × ${env.cpuModel}, ${results.generatedAt.slice(0, 10)}. ` +
    'In brackets: the ratio to server 2, the floor (median over rounds of the ratio within each round).',
  '',
  formatTable(results.servers, true),
  '',
];
if (results.floods.length > 0) {
  lines.push('Flood of malformed and bad-checksum tokens:', '');
  lines.push('| # | server | req/s | Redis commands | responses |', '|---|---|---:|---:|---|');
  for (const flood of results.floods) {
    const statuses = Object.entries(flood.statusCounts)
      .map(([code, n]) => `${number(n)} × ${code}`)
      .join(', ');
    lines.push(
      `| ${flood.id} | ${flood.name} | ${number(flood.reqPerSec)} | ${number(flood.redisCalls)} for ${number(flood.requests)} requests | ${statuses} |`,
    );
  }
  lines.push('');
}
const memory = results.memory;
if (memory) {
  lines.push(
    `Redis memory per stored token: **${memory.bytesPerToken.toFixed(0)} B** = ${memory.tokenHashBytes.toFixed(0)} B ` +
      `for the token's hash (${memory.tokenEncoding}) + ${memory.indexBytesPerToken.toFixed(0)} B, its share of the ` +
      `per-user index (${memory.indexEncoding}, ${results.seed.tokensPerUser} tokens per user), by MEMORY USAGE ` +
      `over ${memory.sampledTokens} tokens; INFO used_memory grew by ${memory.usedMemoryDeltaPerToken.toFixed(0)} B ` +
      "per token, which also counts Redis' own dict entries for the key and its expiry.",
    '',
  );
}
if (results.instructions) {
  const { plan, servers } = results.instructions;
  lines.push(
    `Instructions per request under valgrind's callgrind (${number(plan.warmupRequests)} requests of warm-up, then ` +
      `${plan.windows} windows of ${number(plan.windowRequests)}, ${plan.connections} connections), ratio to the floor:`,
    '',
    '| # | server | instructions/req | each window |',
    '|---|---|---:|---|',
  );
  for (const server of servers) {
    const ratio = server.ratioToFloor ? ` (${server.ratioToFloor.toFixed(2)}×)` : '';
    lines.push(
      `| ${server.id} | ${server.name} | ${number(server.perRequest)}${ratio} | ${server.windows.map(number).join(', ')} |`,
    );
  }
  lines.push('');
}
lines.push('| target | this run | met |', '|---|---|---|');
for (const check of results.targets) {
  lines.push(
    `| ${check.target} | ${check.value} | ${check.met === null ? '–' : check.met ? 'yes' : '**no**'} |`,
  );
}
console.log(lines.join('\n'));
