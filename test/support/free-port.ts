// A loopback port for a server a test starts: bound to port 0, read, released. Another process may
// still take it before the server binds, so a server that finds it taken retries on a new one.
import { createServer } from 'node:net';

const HOST = '127.0.0.1';
/** A Redis Cluster node also listens on port + 10000 (its cluster bus), which must be free too. */
export const CLUSTER_BUS_OFFSET = 10000;

const handedOut = new Set<number>();

function bindPort(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen({ host: HOST, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A loopback TCP port that was free a moment ago, never handed out twice by one test process.
 * With `clusterBus`, port + 10000 is free as well.
 */
export async function freePort(options: { clusterBus?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await bindPort(0);
    if (port === null || handedOut.has(port)) continue;
    if (options.clusterBus) {
      if (port + CLUSTER_BUS_OFFSET > 65535) continue;
      if ((await bindPort(port + CLUSTER_BUS_OFFSET)) === null) continue;
    }
    handedOut.add(port);
    return port;
  }
  throw new Error('no free loopback port found');
}
