/**
 * The Redis commands RedisTokenStore sends, and nothing else: an ioredis `Redis` or `Cluster` of
 * either major (5 or 6) fits, as does any client with the same methods. Typed by shape rather than
 * by ioredis' classes, whose types differ between majors though the commands do not.
 *
 * Methods, not function properties, so that ioredis' many overloads (callbacks, Buffers) are
 * accepted as long as one of them answers each call made here.
 */
export interface RedisTokenStoreClient {
  get(key: string): Promise<string | null>;
  getex(key: string, millisecondsToken: 'PX', milliseconds: number): Promise<string | null>;
  getex(key: string, unixTimeMillisecondsToken: 'PXAT', unixTimeMilliseconds: number): Promise<string | null>;
  pexpire(key: string, milliseconds: number | string): Promise<unknown>;
  pexpireat(key: string, unixTimeMilliseconds: number | string): Promise<unknown>;
  exists(...keys: string[]): Promise<number>;
  zadd(key: string, score: string, member: string): Promise<unknown>;
  zadd(key: string, lt: 'LT', score: string, member: string): Promise<unknown>;
  zrange(key: string, start: string, stop: string): Promise<string[]>;
  zrem(key: string, ...members: string[]): Promise<unknown>;
  eval(script: string, numberOfKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  evalsha(sha: string, numberOfKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}
