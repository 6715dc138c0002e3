import { describe, test } from 'node:test';
import { checkTokenStore, conformanceCaseNames } from './check-token-store';
import type { StoreHarness } from './harness';

export type { StoreHarness } from './harness';

/**
 * The conformance suite as `node:test` tests: one `describe` named after the store, one test per
 * case, failing with the case's own error. A case for an optional part the store or its harness
 * lacks (see `StoreHarness`) is reported as skipped, not passed.
 */
export function testTokenStore(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`TokenStore conformance: ${name}`, () => {
    for (const caseName of conformanceCaseNames) {
      test(caseName, async (t) => {
        const report = await checkTokenStore(makeHarness, { cases: [caseName] });
        const failure = report.failed[0];
        if (failure) throw failure.error;
        if (report.skipped.length > 0)
          t.skip('the store, or its harness, does not offer the optional part this case is for');
        else if (report.passed.length !== 1) throw new Error(`${caseName} did not run`);
      });
    }
  });
}
