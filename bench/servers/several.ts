// Several server programs in one process, each app on a port of its own (SERVER_FILES: their files in
// this folder, comma-separated). The hot path's guard starts one process under valgrind rather than
// one per server (a start takes tens of seconds there), and its servers share one heap, one copy of
// Express' and Node's compiled code and one collector, so that a difference between two of them is
// what their own code does. Reports every port, in the files' order; 'stats' counts all requests.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { answerHarness, type HostedApp, hostSeveral, sendHarness, storeAddress } from './serve';

const apps = hostSeveral();
const files = storeAddress('SERVER_FILES').split(',');
for (const file of files) require(join(__dirname, file));
if (apps.length !== files.length) throw new Error(`${files.length} server files gave ${apps.length} apps`);

let requests = 0;
answerHarness(() => requests);

async function listen({ app, ready }: HostedApp): Promise<number> {
  await ready;
  const server = createServer(app).on('request', () => requests++);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return (server.address() as AddressInfo).port;
}

Promise.all(apps.map(listen)).then(
  (ports) => sendHarness({ port: ports[0]!, ports }),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
