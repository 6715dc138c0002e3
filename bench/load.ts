// The load: autocannon, run in the harness (which does nothing else meanwhile), every request with the
// Authorization of a token drawn at random among the workload's, so that no server or store can get by
// on a handful of hot keys.
import autocannon from 'autocannon';
import { readCredentials } from './seed';
import type { LoadKind } from './server-list';
import { ROUTE } from './servers/serve';

export interface LoadRequest {
  url: string;
  kind: LoadKind;
  /** The seeded credentials file, and how many of its first tokens to draw from. */
  credentials: string;
  tokens: number;
  headers?: Record<string, string>;
  connections: number;
  /** Load for this long, or send exactly `amount` requests. */
  durationSec: number;
  amount?: number;
  /** Tokens in the file's order rather than at random: with `amount`, each of the first ones once. */
  inOrder?: boolean;
}

const pools = new Map<string, string[]>();

function headersFor({ credentials: file, tokens, kind }: LoadRequest): string[] {
  const key = `${file} ${tokens} ${kind}`;
  if (!pools.has(key)) {
    const header = (login: string, token: string) =>
      kind === 'bearer' ? `Bearer ${token}` : `Basic ${Buffer.from(`${login}:${token}`).toString('base64')}`;
    pools.set(
      key,
      readCredentials(file, tokens).map(({ login, token }) => header(login, token)),
    );
  }
  return pools.get(key)!;
}

export async function runLoad(request: LoadRequest) {
  const headers = headersFor(request);
  const { url, connections, amount, durationSec: duration } = request;
  let next = 0;
  const pick = () => (request.inOrder ? next++ % headers.length : (Math.random() * headers.length) | 0);
  const setupRequest = (req: { headers: Record<string, string> }) =>
    Object.assign(req, {
      headers: {
        ...req.headers,
        ...request.headers,
        authorization: headers[pick()],
      },
    });
  return new Promise<{ reqPerSec: number; statusCounts: Record<string, number>; errors: number }>(
    (resolve, reject) =>
      autocannon(
        {
          url,
          connections,
          ...(amount ? { amount } : { duration }),
          requests: [{ path: ROUTE, setupRequest }],
        },
        (error, result) => {
          if (error) return reject(error);
          const statusCounts: Record<string, number> = {};
          for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCounts[code] = count;
          const errors = result.errors + result.timeouts;
          resolve({ reqPerSec: result.requests.total / result.duration, statusCounts, errors });
        },
      ),
  );
}
