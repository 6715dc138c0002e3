import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express, NextFunction, Request, Response } from 'express';
import { forwardAuth } from '../lib/http/forward-auth';
import { INTROSPECTION_PATH, introspectionRouter } from '../lib/http/introspection-router';
import type { IntrospectionClients, ThrottleOptions } from '../lib/index';
import { CommandFailure, messageOf, UsageError } from './errors';
import type { OpenedTokens } from './open-tokens';
import { announceFromWorker, isServeAuthWorker, parseWorkers } from './serve-auth-workers';

/** Where the standalone server answers the proxy's sub-request. */
export const SERVE_AUTH_PATH = '/auth';
export const DEFAULT_LISTEN = '127.0.0.1:9180';
// Time for requests in flight to finish on SIGTERM before their connections are cut.
const DRAIN_MS = 5_000;

/** Where `serve-auth --introspection` reads its clients when the config names none: `id:secret,id2:secret2`. */
export const INTROSPECTION_CLIENTS_ENV = 'PERSONAL_TOKEN_INTROSPECTION_CLIENTS';

export interface ServeAuthRequest {
  host: string;
  port: number;
  trustProxy: string;
  throttle: ThrottleOptions | undefined;
  /** Processes answering on the port (`--workers`); 1 is a single process, no cluster. */
  workers: number;
  /** With `--introspection`: the clients of $PERSONAL_TOKEN_INTROSPECTION_CLIENTS (null when unset). */
  introspection?: { clients: Map<string, string> | null };
}

/** Checks the command line of `serve-auth` (and the environment it reads) before anything is opened. */
export function parseServeAuthOptions(
  options: {
    listen?: string;
    trustProxy?: string;
    throttle?: string;
    introspection?: boolean;
    workers?: string;
  },
  env: Record<string, string | undefined> = {},
): ServeAuthRequest {
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
  const workers = parseWorkers(options.workers);
  const request: ServeAuthRequest = { host: match[1] ?? match[2]!, port, trustProxy, throttle, workers };
  if (options.introspection === true) {
    request.introspection = { clients: parseIntrospectionClients(env[INTROSPECTION_CLIENTS_ENV]) };
  }
  return request;
}

/**
 * `id:secret,id2:secret2` (a secret may hold `:`, not `,`), or null when unset or empty. A message
 * names the entry by its position and the client by its id, never a secret.
 */
export function parseIntrospectionClients(text: string | undefined): Map<string, string> | null {
  if (text === undefined || text.trim() === '') return null;
  const clients = new Map<string, string>();
  text.split(',').forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const id = entry.slice(0, Math.max(colon, 0)).trim();
    if (colon <= 0 || id === '' || entry.length === colon + 1) {
      throw new UsageError(
        `$${INTROSPECTION_CLIENTS_ENV}: entry ${index + 1} must be <client id>:<secret>, entries separated by commas`,
      );
    }
    if (clients.has(id)) throw new UsageError(`$${INTROSPECTION_CLIENTS_ENV}: client "${id}" is named twice`);
    clients.set(id, entry.slice(colon + 1));
  });
  return clients;
}

/** The clients `--introspection` serves: the config's, else the environment's; none is a usage error. */
function introspectionClients(
  opened: OpenedTokens,
  fromEnv: Map<string, string> | null,
): IntrospectionClients {
  const clients = opened.config.introspectionClients ?? fromEnv;
  if (clients === null) {
    throw new UsageError(
      `--introspection needs clients: introspectionClients in the config, or $${INTROSPECTION_CLIENTS_ENV}=id:secret,...`,
    );
  }
  return clients;
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
  const clients = request.introspection && introspectionClients(opened, request.introspection.clients);
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
  if (clients) {
    try {
      app.use(introspectionRouter({ tokens: opened.tokens, clients, throttle: request.throttle }));
    } catch (error) {
      throw new UsageError(`--introspection: ${messageOf(error)}`);
    }
  }
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
  const introspection = clients ? ` and ${INTROSPECTION_PATH}` : '';
  const workers = request.workers > 1 ? `; ${request.workers} workers` : '';
  const line =
    `personal-token serve-auth: listening on http://${host}:${port}${SERVE_AUTH_PATH}${introspection} ` +
    `(tokens in ${opened.where}${workers})`;
  // A worker's line is the primary's to print, once for all of them; the primary says when they stop.
  const worker = isServeAuthWorker();
  if (worker) announceFromWorker(line);
  else stderr(`${line}\n`);
  const signal = await stopSignal(worker);
  if (!worker) stderr(`personal-token serve-auth: ${signal}, stopping\n`);
  await close(server);
}

/**
 * The signal to stop on. A worker stops on the primary's SIGTERM alone: a terminal's Ctrl-C reaches
 * every process of the group, and the primary passes it on once, so a worker ignores SIGINT rather than
 * be killed by a second signal while it drains.
 */
function stopSignal(worker: boolean): Promise<NodeJS.Signals> {
  const signals: NodeJS.Signals[] = worker ? ['SIGTERM'] : ['SIGTERM', 'SIGINT'];
  if (worker) process.on('SIGINT', () => {});
  return new Promise<NodeJS.Signals>((resolve) => {
    const stop = (received: NodeJS.Signals) => {
      for (const signal of signals) process.off(signal, stop);
      resolve(received);
    };
    for (const signal of signals) process.on(signal, stop);
  });
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
