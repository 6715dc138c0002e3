// The failover check shared by the Cluster and Sentinel tests: live and revoked tokens under a
// steady load while Redis loses a master, then the verdict on what every request got.
import assert from 'node:assert/strict';
import type { IssuedToken, TokenService } from '../../lib/index';
import { watchStalls } from './event-loop-stalls';
import { basic, bearer, type LoadSample, startLoad } from './http-load';

export interface TokenPopulation {
  live: IssuedToken[];
  revoked: IssuedToken[];
}

/** Issues `live` tokens and `revoked` ones (issued, then revoked), spread over a few users. */
export async function issuePopulation(
  tokens: TokenService,
  counts: { live: number; revoked: number },
  /** Keep this token? (e.g. to put enough of them on the master that will be killed) */
  accept: (
    token: IssuedToken,
    kind: 'live' | 'revoked',
    kept: IssuedToken[],
  ) => boolean | Promise<boolean> = () => true,
): Promise<TokenPopulation> {
  const population: TokenPopulation = { live: [], revoked: [] };
  for (const kind of ['live', 'revoked'] as const) {
    for (let i = 0; population[kind].length < counts[kind]; i++) {
      if (i > counts[kind] * 50) throw new Error(`could not issue enough ${kind} tokens that fit`);
      const issued = await tokens.issue({ user: `user${i % 7}`, autoRefresh: '10m', expiresIn: '1h' });
      if (!(await accept(issued, kind, population[kind]))) {
        await tokens.revoke(issued.id);
        continue;
      }
      if (kind === 'revoked') assert.equal(await tokens.revoke(issued.id), true);
      population[kind].push(issued);
    }
  }
  return population;
}

export interface FailoverRun {
  samples: LoadSample[];
  /** performance.now() when the fault was injected / when the new master served everywhere. */
  faultAt: number;
  recoveredAt: number;
  /** Time this process was not running during [start, end] (see event-loop-stalls.ts). */
  stalledDuring(start: number, end: number): number;
  longestStallMs: number;
}

// How many requests in a row must be answered (no 503) after the fault for the app to count as
// recovered: a count, not a time, so that a busy machine's slower reconnection is no failure.
export const SETTLED_REQUESTS = 100;

/**
 * Sends a steady load (alternating Bearer and Basic) over every token of the population while
 * `fault()` runs (it resolves once Redis has recovered), then at least `settleMs` more, and on
 * until `SETTLED_REQUESTS` requests that started after the last 503 were answered (or `settleGuardMs` passed).
 */
export async function loadThroughFault(
  url: string,
  population: TokenPopulation,
  fault: () => Promise<void>,
  { ratePerSecond = 100, warmMs = 700, settleMs = 4000, settleGuardMs = 20_000 } = {},
): Promise<FailoverRun> {
  const all = [
    ...population.live.map((token) => ({ token, tag: `live:${token.id}` })),
    ...population.revoked.map((token) => ({ token, tag: `revoked:${token.id}` })),
  ];
  const stalls = watchStalls();
  const load = startLoad({
    url,
    ratePerSecond,
    next: (i) => {
      const { token, tag } = all[i % all.length]!;
      const headers = i % 2 === 0 ? bearer(token.token) : basic(token.user, token.token);
      return { headers, tag };
    },
  });
  await new Promise((resolve) => setTimeout(resolve, warmMs));
  const faultAt = performance.now();
  await fault();
  const recoveredAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  // The verdict's own test: requests that started after the last 503 ended (answers arrive out of
  // order, so the last answers in arrival order can include requests sent before it).
  const settled = () => answeredAfterLastUnavailable(load.samples) >= SETTLED_REQUESTS;
  while (!settled() && performance.now() - recoveredAt < settleGuardMs) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const samples = await load.stop();
  stalls.stop();
  return {
    samples,
    faultAt,
    recoveredAt,
    stalledDuring: stalls.stalledDuring,
    longestStallMs: Math.round(stalls.longest),
  };
}

export interface FailoverVerdictOptions {
  /** TokenService timeout + margin: no request may take longer. */
  maxLatencyMs: number;
}

/** Asserts what a failover may and may not do to requests; returns figures for the report. */
export function assertFailoverVerdict(run: FailoverRun, options: FailoverVerdictOptions) {
  const { samples, faultAt, recoveredAt } = run;
  // Net of the time this process could not run at all (a starved CI machine).
  const latency = (s: LoadSample) => s.end - s.start - run.stalledDuring(s.start, s.end);
  const counts: Record<string, number> = {};
  for (const s of samples) {
    const key = `${s.tag.split(':')[0]}:${s.status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  const unavailable = samples.filter((s) => s.status === 503);
  const report = {
    requests: samples.length,
    counts,
    failoverMs: Math.round(recoveredAt - faultAt),
    unavailableWindowMs: unavailable.length ? Math.round(unavailable.at(-1)!.end - unavailable[0]!.start) : 0,
    maxLatencyMs: Math.round(Math.max(...samples.map(latency))),
    longestStallMs: run.longestStallMs,
    lastUnavailableAfterRecoveryMs: unavailable.length
      ? Math.round(unavailable.at(-1)!.start - recoveredAt)
      : null,
  };
  const context = JSON.stringify(report);

  // Revoked stays revoked, at every moment: never a 200.
  assert.deepEqual(
    samples.filter((s) => s.tag.startsWith('revoked:') && s.status === 200).map((s) => s.tag),
    [],
    `a revoked token came back (${context})`,
  );
  // A live token is never refused as invalid; at worst the store is unavailable (503).
  const live = samples.filter((s) => s.tag.startsWith('live:'));
  assert.deepEqual(
    live.filter((s) => s.status !== 200 && s.status !== 503).map((s) => `${s.tag} ${s.status}`),
    [],
    `live tokens get 200 or 503 only (${context})`,
  );
  const revoked = samples.filter((s) => s.tag.startsWith('revoked:'));
  assert.deepEqual(
    revoked.filter((s) => s.status !== 401 && s.status !== 503).map((s) => `${s.tag} ${s.status}`),
    [],
    `revoked tokens get 401 or 503 only (${context})`,
  );
  for (const s of unavailable) assert.equal(s.headers['retry-after'], '1');
  // 503 only while the failover is going on.
  assert.deepEqual(
    unavailable.filter((s) => s.end < faultAt).map((s) => s.tag),
    [],
    `no 503 before the fault (${context})`,
  );
  // Recovered, and for good: once answers came back, the unavailability did not return, and the
  // last requests of the run were all answered (by a live 200 or a revoked 401).
  assert.ok(
    answeredAfterLastUnavailable(samples) >= SETTLED_REQUESTS,
    `${SETTLED_REQUESTS} requests in a row answered after recovery (${context})`,
  );
  const slow = samples.filter((s) => latency(s) > options.maxLatencyMs);
  assert.deepEqual(
    slow.map((s) => Math.round(latency(s))),
    [],
    `every answer within ${options.maxLatencyMs} ms (${context})`,
  );
  return report;
}

/** How many requests started after the last 503 ended (all of them when there was none). */
function answeredAfterLastUnavailable(samples: readonly LoadSample[]): number {
  let lastEnd = Number.NEGATIVE_INFINITY;
  for (const s of samples) if (s.status === 503 && s.end > lastEnd) lastEnd = s.end;
  return samples.filter((s) => s.start > lastEnd).length;
}
