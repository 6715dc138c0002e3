/**
 * The Redis commands RedisTokenStore sends, and nothing else: an ioredis `Redis` or `Cluster` of
 * either major (5 or 6) fits, as does any client with the same methods. Typed by shape rather than
 * by ioredis' classes, whose types differ between majors though the commands do not.
 *
 * Methods, not function properties, so that ioredis' many overloads (callbacks, Buffers) are
 * accepted as long as one of them answers the call made here.
 */
export interface RedisTokenStoreClient {
  get(key: string): Promise<string | null>;
  getex(key: string, millisecondsToken: 'PX', milliseconds: number): Promise<string | null>;
  set(key: string, value: string, millisecondsToken: 'PX', milliseconds: number, nx: 'NX'): Promise<unknown>;
  pexpire(key: string, milliseconds: number): Promise<unknown>;
  exists(key: string): Promise<number>;
  zadd(key: string, score: string, member: string): Promise<unknown>;
  zrange(key: string, start: string, stop: string): Promise<string[]>;
  zrevrange(key: string, start: string, stop: string): Promise<string[]>;
  zrem(key: string, ...members: string[]): Promise<unknown>;
  eval(script: string, numberOfKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  evalsha(sha: string, numberOfKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}
