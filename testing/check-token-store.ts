import { checkOptions, optionNames } from '../lib/option-names';
import { checkPlanCases } from './cases/check-plan';
import { concurrencyCases } from './cases/concurrency';
import { expiringCases } from './cases/expiring';
import { familyCases } from './cases/families';
import { hardLimitCases } from './cases/hard-limits';
import { invalidationCases } from './cases/invalidations';
import { listingCases } from './cases/listing';
import { liveTokenLimitCases } from './cases/live-token-limit';
import { recentIpCases } from './cases/recent-ips';
import { recordCases } from './cases/records';
import { revocationWaitCases } from './cases/revocation-wait';
import { throttleCases } from './cases/throttle';
import { tombstoneCases } from './cases/tombstones';
import { wrongHashCases } from './cases/wrong-hash';
import { CaseContext, type ConformanceCase, type StoreHarness } from './harness';

const CASES: readonly ConformanceCase[] = [
  ...recordCases,
  ...checkPlanCases,
  ...recentIpCases,
  ...wrongHashCases,
  ...tombstoneCases,
  ...hardLimitCases,
  ...listingCases,
  ...expiringCases,
  ...throttleCases,
  ...concurrencyCases,
  ...liveTokenLimitCases,
  ...familyCases,
  ...invalidationCases,
  ...revocationWaitCases,
];

/** The names of the suite's cases, in the order they run. */
export const conformanceCaseNames: readonly string[] = CASES.map((check) => check.name);

export interface ConformanceReport {
  /** Names of the cases the store passed. */
  passed: string[];
  /** The cases it failed, each with what was thrown (an `AssertionError` says what was expected). */
  failed: { name: string; error: unknown }[];
  /**
   * Cases for optional parts the store or its harness does not have (the throttle's methods,
   * `listExpiring`, the invalidation channel, `failover()`, `listDescendants`).
   */
  skipped: string[];
}

export interface CheckTokenStoreOptions {
  /** Run only the cases with these names (see `conformanceCaseNames`); default all. */
  cases?: readonly string[];
  /** How long one case may take before it counts as failed, in ms (a hung store). Default 60 s. */
  caseTimeout?: number;
  /**
   * How long after `publish` resolves a subscriber in another process (`StoreHarness.remoteChannel`)
   * may hear of it, in ms. Default 1000, the cache's default `maxStale`: give the `maxStale` you run
   * with, if it is longer.
   */
  invalidationBound?: number;
}

const OPTION_NAMES = optionNames<CheckTokenStoreOptions>({
  cases: true,
  caseTimeout: true,
  invalidationBound: true,
});

/**
 * Runs the conformance suite against a store: every case gets its own harness from `makeHarness()`
 * and cleans it up after, and the cases run one after another. Resolves to what passed and what
 * failed, never rejects for a failed case: use it from any test runner (assert that `failed` is
 * empty), or see `personal-token-auth/testing/node-test` for `node:test`.
 */
export async function checkTokenStore(
  makeHarness: () => Promise<StoreHarness>,
  options: CheckTokenStoreOptions = {},
): Promise<ConformanceReport> {
  checkOptions('checkTokenStore', options, OPTION_NAMES);
  const report: ConformanceReport = { passed: [], failed: [], skipped: [] };
  const wanted = options.cases === undefined ? undefined : new Set(options.cases);
  for (const check of CASES) {
    if (wanted && !wanted.has(check.name)) continue;
    try {
      const harness = await makeHarness();
      try {
        if (check.appliesTo && !check.appliesTo(harness.store, harness)) {
          report.skipped.push(check.name);
          continue;
        }
        const context = new CaseContext(harness, options.invalidationBound);
        await withTimeout(check.run(context), options.caseTimeout ?? 60_000, check.name);
      } finally {
        await harness.cleanup();
      }
      report.passed.push(check.name);
    } catch (error) {
      report.failed.push({ name: check.name, error });
    }
  }
  return report;
}

// The timer holds the process open while a case runs: a store that hangs fails its case, rather
// than ending the run with the case unsettled.
function withTimeout(work: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
