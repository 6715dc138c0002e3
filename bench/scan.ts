// `npm run bench:scan`: how fast `personal-token scan` reads a tree. Writes a tree of text, JSON and
// minified JS files of mixed sizes (200 MB by default) to a temp dir, with 1,000 real tokens and
// 10,000 look-alikes (one character changed, so the checksum fails) planted in it, then runs the
// command in this process, on one core, and reports MB/s and what it found. See bench/README.md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/program';
import { generateToken } from '../lib/token-format';

const MB = 1024 * 1024;
const PREFIX = 'pat_';

/** A small seeded generator (mulberry32): every run writes files of the same sizes and kinds. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the token store compat_mode pat_ patch path expires user scope node read write spat_ ' +
  'config value rotate revoke list inspect owner label sliding window hard limit é ü 漢字'
).split(' ');

type Kind = 'text' | 'json' | 'js';

/** One file's content, about `size` bytes, with `plants` put at random places its kind allows. */
function content(kind: Kind, size: number, plants: string[], next: () => number): string {
  const pieces: string[] = [];
  let length = 0;
  const word = () => WORDS[Math.floor(next() * WORDS.length)]!;
  // Where each plant goes, in order: it is put in the first piece that starts at or after its place.
  const places = plants.map(() => Math.floor(next() * size)).sort((a, b) => a - b);
  let planted = 0;
  const plant = (): string | undefined =>
    planted < plants.length && places[planted]! <= length ? plants[planted++] : undefined;
  while (length < size || planted < plants.length) {
    const secret = plant();
    let piece: string;
    if (kind === 'text') {
      const words = Array.from({ length: 4 + Math.floor(next() * 12) }, word).join(' ');
      piece = secret === undefined ? `${words}\n` : `${words} key=${secret}\n`;
    } else if (kind === 'json') {
      piece = `{"id":${Math.floor(next() * 1e6)},"name":"${word()} ${word()}","value":"${secret ?? word()}"},\n`;
    } else {
      // Minified: no newline for the whole file.
      piece = `function ${word().replace(/\W/g, 'f')}(a){return a.${word().replace(/\W/g, 'x')}("${secret ?? word()}")};`;
    }
    pieces.push(piece);
    length += piece.length;
  }
  return pieces.join('');
}

/** A look-alike: a real token with one character of its body changed, so its checksum fails. */
function lookAlike(next: () => number): string {
  const { token } = generateToken(PREFIX, { autoRefresh: null, hardExpiresAt: null });
  const at = PREFIX.length + Math.floor(next() * (token.length - PREFIX.length));
  const alphabet =
    /[0-9a-f]/.test(token[at]!) && at < PREFIX.length + 16 ? '0123456789abcdef' : 'ABCXYZabcxyz0189';
  let replacement = token[at]!;
  while (replacement === token[at]) replacement = alphabet[Math.floor(next() * alphabet.length)]!;
  return token.slice(0, at) + replacement + token.slice(at + 1);
}

async function main(): Promise<void> {
  const totalMb = Number(process.argv[2] ?? 200);
  // The tree's shape from one seed; where the (random) tokens and look-alikes go from another.
  const shape = random(42);
  const next = random(7);
  const dir = mkdtempSync(join(tmpdir(), 'pat-bench-scan-'));
  try {
    const plants = [
      ...Array.from(
        { length: 1000 },
        () => generateToken(PREFIX, { autoRefresh: null, hardExpiresAt: null }).token,
      ),
      ...Array.from({ length: 10_000 }, () => lookAlike(next)),
    ].sort(() => next() - 0.5);
    // Mixed sizes: mostly small files, some medium, a few large, as in a repository.
    const sizes: number[] = [];
    for (let total = 0; total < totalMb * MB; ) {
      const roll = shape();
      const size =
        roll < 0.8
          ? 1024 + shape() * 32 * 1024
          : roll < 0.98
            ? 100 * 1024 + shape() * MB
            : 5 * MB + shape() * 10 * MB;
      sizes.push(Math.round(size));
      total += size;
    }
    let bytes = 0;
    const kinds: Kind[] = ['text', 'json', 'js'];
    const perFile = plants.length / sizes.length;
    let given = 0;
    for (const [index, size] of sizes.entries()) {
      const kind = kinds[index % 3]!;
      const upTo = index === sizes.length - 1 ? plants.length : Math.round((index + 1) * perFile);
      const text = content(kind, size, plants.slice(given, upTo), next);
      given = upTo;
      const folder = join(dir, `d${index % 50}`);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `f${index}.${kind === 'text' ? 'txt' : kind}`), text);
      bytes += Buffer.byteLength(text);
    }
    console.log(
      `tree: ${sizes.length} files, ${(bytes / MB).toFixed(0)} MB, 1,000 tokens and 10,000 look-alikes planted`,
    );
    // The tree's garbage collected now rather than during the scan, when node is run with --expose-gc.
    (globalThis as { gc?: () => void }).gc?.();
    let stdout = '';
    const started = process.hrtime.bigint();
    const cpuBefore = process.cpuUsage();
    const exitCode = await runCli(['scan', '--json', '--token-prefix', PREFIX, dir], {
      stdout: (text) => {
        stdout += text;
      },
      stderr: () => {},
      env: {},
      cwd: dir,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // On a shared machine the wall clock counts the time others had the CPU; CPU time does not.
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const found = (JSON.parse(stdout) as unknown[]).length;
    console.log(
      `scan: ${seconds.toFixed(2)} s, ${(bytes / MB / seconds).toFixed(0)} MB/s on one core; ` +
        `${cpuSeconds.toFixed(2)} s of CPU, ${(bytes / MB / cpuSeconds).toFixed(0)} MB per CPU second; ` +
        `found ${found} (expected 1000), exit ${exitCode}`,
    );
    if (found !== 1000 || exitCode !== 1) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
