// bench/ imports its Redis helpers from here; tests import the file for what they start
// (redis-server.ts, redis-cluster.ts, redis-sentinel.ts).
export { replicateFrom } from './redis-replication';
export { type RedisServer, startRedis, stopAllRedis } from './redis-server';
