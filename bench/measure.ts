// One timed load of one server: req/s and the responses' statuses from the load, the server's own CPU
// and request count, and the commands its store executed, each the difference between just before and
// just after the load.
import { type LoadRequest, runLoad } from './load';
import type { ServerProcess } from './server-process';
import type { RunningStore } from './stores';

export interface Figures {
  reqPerSec: number;
  /** Server CPU (user + system) per request it received, µs. */
  cpuUsPerRequest: number;
  /** Commands the store executed per request (those a script runs included). */
  storeCallsPerRequest: number;
}

// Requests still in flight when the load stops finish within a few ms: wait for them to count on both sides.
const SETTLE_MS = 100;

export async function measure(server: ServerProcess, store: RunningStore | null, request: LoadRequest) {
  const counters = async () => ({ ...(await server.stats()), commands: (await store?.commands()) ?? NaN });
  const before = await counters();
  const { reqPerSec, statusCounts, errors } = await runLoad(request);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const after = await counters();
  const per = (value: number) => value / (after.requests - before.requests);
  const figures: Figures = {
    reqPerSec,
    cpuUsPerRequest: per(after.cpuUs - before.cpuUs),
    storeCallsPerRequest: per(after.commands - before.commands),
  };
  return { figures, statusCounts, errors };
}

export type Measurement = Awaited<ReturnType<typeof measure>>;
