// The benchmark's own redis-server: a fresh, empty, persistence-free instance on a free loopback
// port, so seeding cannot collide with anyone's data and INFO commandstats counts only our traffic.
// The tests' helper starts it, stops it by pid, and kills it if the harness dies.
import { type RedisServer, startRedis } from '../test/support/redis-servers';

export type BenchRedis = Pick<RedisServer, 'url' | 'port' | 'pid' | 'stop'>;

export function startBenchRedis(): Promise<BenchRedis> {
  return startRedis();
}
