// personal-token-auth/testing: the conformance suite every token store must pass, for any test
// runner (it uses node:assert only). For node:test, see personal-token-auth/testing/node-test.
export {
  type CheckTokenStoreOptions,
  type ConformanceReport,
  checkTokenStore,
  conformanceCaseNames,
} from './check-token-store';
export type { StoreHarness } from './harness';
