import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express, NextFunction, Request, Response } from 'express';
import { forwardAuth } from '../lib/forward-auth';
import type { ThrottleOptions } from '../lib/index';
import { CommandFailure, messageOf, UsageError } from './errors';
import type { OpenedTokens } from './open-tokens';

/** Where the standalone server answers the proxy's sub-request. */
export const SERVE_AUTH_PATH = '/auth';
export const DEFAULT_LISTEN = '127.0.0.1:9180';
// Time for requests in flight to finish on SIGTERM before their connections are cut.
const DRAIN_MS = 5_000;

export interface ServeAuthRequest {
  host: string;
  port: number;
  trustProxy: string;
  throttle: ThrottleOptions | undefined;
}

/** Checks the command line of `serve-auth` before anything is opened. */
export function parseServeAuthOptions(options: {
  listen?: string;
  trustProxy?: string;
  throttle?: string;
}): ServeAuthRequest {
  const listen = options.listen ?? DEFAULT_LISTEN;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new UsageError(`--listen must be host:port, e.g. ${DEFAULT_LISTEN} or [::1]:9180 (got ${listen})`);
  }
  const trustProxy = options.trustProxy ?? 'loopback';
  if (trustProxy.trim() === '') throw new UsageError('--trust-proxy must not be empty');
  let throttle: ThrottleOptions | undefined;
  if (options.throttle !== undefined) {
    const parts = /^(\d{1,9})\/(\S+)$/.exec(options.throttle);
    if (!parts || Number(parts[1]) < 1) {
      throw new UsageError(`--throttle must be <failures>/<window>, e.g. 10/15m (got ${options.throttle})`);
    }
    throttle = { maxFailures: Number(parts[1]), window: parts[2]! };
  }
  return { host: match[1] ?? match[2]!, port, trustProxy, throttle };
}

/**
 * Runs the forward-auth server until SIGTERM or SIGINT, then stops listening, lets the requests in
 * flight finish and resolves. `resolveNode` and `resolveAncestors` come from the config file.
 */
export async function serveAuth(
  opened: OpenedTokens,
  request: ServeAuthRequest,
  stderr: (text: string) => void,
): Promise<void> {
  const { resolveNode, resolveAncestors } = opened.config;
  // Loaded here, not with the CLI: the other commands do not pay for Express.
  const express: typeof import('express') = require('express');
  const app = express();
  app.disable('x-powered-by');
  try {
    app.set('trust proxy', request.trustProxy);
  } catch (error) {
    throw new UsageError(`--trust-proxy: ${messageOf(error)}`);
  }
  app.use(
    SERVE_AUTH_PATH,
    forwardAuth({
      tokens: opened.tokens,
      resolveNode,
      resolveAncestors,
      throttle: request.throttle,
    }),
  );
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found' });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // The config's resolveUser or resolveNode failed: say so here, never to the client.
    stderr(`personal-token serve-auth: ${messageOf(error)}\n`);
    if (!res.headersSent) res.status(500).json({ error: 'internal_error' });
  });

  const server = await listen(app, request);
  const { address, family, port } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address;
  stderr(
    `personal-token serve-auth: listening on http://${host}:${port}${SERVE_AUTH_PATH} ` +
      `(tokens in ${opened.where})\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (received: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(received);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  stderr(`personal-token serve-auth: ${signal}, stopping\n`);
  await close(server);
}

function listen(app: Express, request: ServeAuthRequest): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(request.port, request.host);
    server.once('listening', () => resolve(server));
    server.once('error', (error) =>
      reject(new CommandFailure(`cannot listen on ${request.host}:${request.port}: ${messageOf(error)}`)),
    );
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
