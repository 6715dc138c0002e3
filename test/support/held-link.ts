// A TCP relay between a Redis replica and its master that can hold back what the master sends and
// then drop it: a replication stream lost in the network, deterministically (a paused replica would
// still find the stream in its socket buffer once resumed).
import { createConnection, createServer, type Socket } from 'node:net';

export interface HeldLink {
  /** The port the replica connects to (`REPLICAOF 127.0.0.1 <port>`). */
  readonly port: number;
  /** From now on, nothing the master sends reaches the replica (it stays in the relay's buffers). */
  hold(): void;
  /** Closes every relayed connection: what was held back is lost. */
  cut(): void;
  close(): Promise<void>;
}

/**
 * `delay`: what the master sends reaches the replica that many ms late (a slow link: replication
 * lags, and `cut()` loses what is on its way).
 */
export function startHeldLink(targetPort: number, options: { delay?: number } = {}): Promise<HeldLink> {
  const sockets = new Set<Socket>();
  const inFlight = new Set<NodeJS.Timeout>();
  const upstreams = new Set<Socket>();
  let held = false;
  const server = createServer((downstream) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    upstreams.add(upstream);
    upstream.on('close', () => upstreams.delete(upstream));
    downstream.pipe(upstream);
    const delay = options.delay;
    if (delay === undefined) upstream.pipe(downstream);
    else
      upstream.on('data', (chunk: Buffer) => {
        const timer = setTimeout(() => {
          inFlight.delete(timer);
          downstream.write(chunk);
        }, delay);
        inFlight.add(timer);
      });
    if (held) upstream.pause();
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  return new Promise((resolve) => {
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      resolve({
        port,
        hold() {
          held = true;
          for (const upstream of upstreams) {
            upstream.unpipe();
            upstream.pause();
          }
        },
        cut() {
          for (const timer of inFlight) clearTimeout(timer);
          for (const socket of sockets) socket.destroy();
        },
        close() {
          for (const timer of inFlight) clearTimeout(timer);
          for (const socket of sockets) socket.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      });
    });
  });
}
