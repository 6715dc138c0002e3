// Real HTTP against a local test server: one request with a guard time, and an open-loop load at a
// steady rate that runs until told to stop. Every loop is bounded (stop() or the guard), and every
// response is recorded with when it started and ended, so a test can reason about phases.
import { Agent, request } from 'node:http';

export interface HttpResult {
  /** HTTP status, or 0 when the guard time passed without an answer, or -1 on a socket error. */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface LoadSample extends HttpResult {
  /** performance.now() just before the request was sent / when it was answered. */
  start: number;
  end: number;
  /** What the test asked for (e.g. which token), see LoadOptions.next. */
  tag: string;
}

export function httpGet(
  url: string,
  headers: Record<string, string>,
  { agent, guardMs = 10_000 }: { agent?: Agent; guardMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      resolve(result);
    };
    const req = request(url, { method: 'GET', headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => finish({ status: res.statusCode ?? -1, headers: res.headers, body }));
      res.on('error', () => finish({ status: -1, headers: {}, body }));
    });
    const guard = setTimeout(() => {
      req.destroy();
      finish({ status: 0, headers: {}, body: '' });
    }, guardMs);
    req.on('error', () => finish({ status: -1, headers: {}, body: '' }));
    req.end();
  });
}

export interface LoadOptions {
  url: string;
  /**
   * Open loop: requests are sent at this steady rate whether or not earlier ones were answered, as
   * real clients do; a slow server therefore faces a growing number of requests in flight.
   */
  ratePerSecond: number;
  /** A cap on requests in flight, so the load stays bounded even if the server hangs. */
  maxInFlight?: number;
  /** The i-th request: its headers and a tag for the test's bookkeeping. */
  next(i: number): { headers: Record<string, string>; tag: string };
  guardMs?: number;
}

export interface Load {
  samples: LoadSample[];
  /** Requests not sent because maxInFlight was reached. */
  readonly skipped: number;
  /** Stops sending; resolves once every request in flight is answered (or guarded out). */
  stop(): Promise<LoadSample[]>;
}

export function startLoad(options: LoadOptions): Load {
  const maxInFlight = options.maxInFlight ?? 500;
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const samples: LoadSample[] = [];
  const inFlight = new Set<Promise<void>>();
  let counter = 0;
  let skipped = 0;
  const intervalMs = 1000 / options.ratePerSecond;
  const startedAt = performance.now();
  // Catch up by elapsed time rather than by ticks: timers on a busy machine fire late.
  const tick = () => {
    const due = Math.floor((performance.now() - startedAt) / intervalMs);
    while (counter < due) {
      const i = counter++;
      if (inFlight.size >= maxInFlight) {
        skipped++;
        continue;
      }
      const { headers, tag } = options.next(i);
      const start = performance.now();
      const pending = httpGet(options.url, headers, { agent, guardMs: options.guardMs }).then((result) => {
        samples.push({ ...result, start, end: performance.now(), tag });
        inFlight.delete(pending);
      });
      inFlight.add(pending);
    }
  };
  const timer = setInterval(tick, Math.max(1, Math.min(10, intervalMs)));
  return {
    samples,
    get skipped() {
      return skipped;
    },
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      agent.destroy();
      return samples.sort((a, b) => a.start - b.start);
    },
  };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export function basic(login: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}` };
}
