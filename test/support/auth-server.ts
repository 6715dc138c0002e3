// A minimal Express app behind personalTokenAuth(), listening on a loopback port, for tests that
// drive it with real HTTP (load, fuzzing, races). GET /whoami answers with what the middleware
// put on the request, so a test can check who was let in.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';

export interface AuthServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export interface WhoAmI {
  login: string;
  tokenId: string;
  scheme: string;
}

export async function startAuthServer(auth: RequestHandler): Promise<AuthServer> {
  const app = express();
  app.get('/whoami', auth, (req, res) => {
    const info = req.authInfo;
    const body: WhoAmI = {
      login: info?.login ?? '',
      tokenId: info?.tokenId ?? '',
      scheme: info?.scheme ?? '',
    };
    res.json(body);
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
