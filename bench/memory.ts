// What one stored token costs in Redis memory, measured two ways:
// - MEMORY USAGE of the token's hash, averaged over a sample, plus its share of the owner's index
//   (the per-user sorted set, MEMORY USAGE / ZCARD): the figure the target is about;
// - the growth of INFO used_memory over the whole seeding, per token: also counts the key's entries
//   in Redis' main and expires dicts, which MEMORY USAGE leaves out (and a little noise).
import type { Redis } from 'ioredis';
import type { Credential } from './credentials';

const SAMPLE = 1000;

export interface TokenKeys {
  tokenKey(id: string): string;
  userKey(user: string): string;
}

export interface TokenMemory {
  sampledTokens: number;
  sampledUsers: number;
  /** Average MEMORY USAGE of a token's hash (key name, value, dict entry), bytes. */
  tokenHashBytes: number;
  /** The user's index, MEMORY USAGE / ZCARD, bytes per token. */
  indexBytesPerToken: number;
  /** tokenHashBytes + indexBytesPerToken: what the ≤ 300 B target is checked against. */
  bytesPerToken: number;
  /** (used_memory after seeding - before) / tokens: includes main-dict and expires-dict overhead. */
  usedMemoryDeltaPerToken: number;
  tokenEncoding: string;
  indexEncoding: string;
}

export async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

export async function measureTokenMemory(
  client: Redis,
  keys: TokenKeys,
  ids: string[],
  credentials: Credential[],
  usedMemoryDelta: number,
): Promise<TokenMemory> {
  const step = Math.max(1, Math.floor(ids.length / SAMPLE));
  const sample: number[] = [];
  for (let index = 0; index < ids.length && sample.length < SAMPLE; index += step) sample.push(index);

  const tokenUsage = await Promise.all(
    sample.map((index) => client.call('MEMORY', 'USAGE', keys.tokenKey(ids[index]!), 'SAMPLES', '0')),
  );
  const users = [...new Set(sample.map((index) => credentials[index]!.login))];
  const indexUsage = await Promise.all(
    users.map((user) => client.call('MEMORY', 'USAGE', keys.userKey(user), 'SAMPLES', '0')),
  );
  const indexSizes = await Promise.all(users.map((user) => client.zcard(keys.userKey(user))));

  const sum = (values: unknown[]) => values.reduce<number>((total, value) => total + Number(value ?? 0), 0);
  const tokenHashBytes = sum(tokenUsage) / sample.length;
  const indexBytesPerToken = sum(indexUsage) / Math.max(1, sum(indexSizes));
  const firstId = ids[sample[0] ?? 0] ?? '';
  const firstUser = users[0] ?? '';
  return {
    sampledTokens: sample.length,
    sampledUsers: users.length,
    tokenHashBytes,
    indexBytesPerToken,
    bytesPerToken: tokenHashBytes + indexBytesPerToken,
    usedMemoryDeltaPerToken: usedMemoryDelta / ids.length,
    tokenEncoding: String(await client.object('ENCODING', keys.tokenKey(firstId))),
    indexEncoding: String(await client.object('ENCODING', keys.userKey(firstUser))),
  };
}
