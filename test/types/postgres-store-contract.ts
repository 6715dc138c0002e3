// Compile-time only (npm run typecheck): the PostgreSQL store is a TokenStore.
import type { PostgresTokenStore } from '../../adapters/postgres';
import type { TokenStore } from '../../lib/store';

declare const store: PostgresTokenStore;
export const contract: TokenStore = store;
