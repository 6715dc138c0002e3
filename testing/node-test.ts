import { describe, test } from 'node:test';
import { judgeCase } from './case-verdict';
import { checkTokenStore, conformanceCaseNames } from './check-token-store';
import type { StoreHarness } from './harness';

export type { StoreHarness } from './harness';

export interface TestTokenStoreOptions {
  /**
   * The cases for optional parts that this store, or its harness, does not offer (see
   * `StoreHarness`), by name. Each is still a test: it passes when the case finds the part missing,
   * and fails once the store or harness offers it, so a declaration never outlives its truth. A case
   * that finds its part missing without being named here fails, so no case is skipped silently.
   */
  notOffered?: readonly string[];
}

/**
 * The conformance suite as `node:test` tests: one `describe` named after the store, one test per
 * case, failing with the case's own error.
 */
export function testTokenStore(
  name: string,
  makeHarness: () => Promise<StoreHarness>,
  options: TestTokenStoreOptions = {},
): void {
  const notOffered = new Set(options.notOffered ?? []);
  for (const caseName of notOffered) {
    if (!conformanceCaseNames.includes(caseName))
      throw new TypeError(`testTokenStore: notOffered names no conformance case: "${caseName}"`);
  }
  describe(`TokenStore conformance: ${name}`, () => {
    for (const caseName of conformanceCaseNames) {
      const declaredMissing = notOffered.has(caseName);
      test(declaredMissing ? `${caseName} (not offered)` : caseName, async () => {
        const report = await checkTokenStore(makeHarness, { cases: [caseName] });
        judgeCase(caseName, report, declaredMissing);
      });
    }
  });
}
