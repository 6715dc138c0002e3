// Compile-time only (npm run typecheck): the PostgreSQL store has the new store contract, whose
// verify takes a CheckPlan and delete a tombstone life. Once TokenStore itself has them, this becomes
// `const contract: TokenStore = store;` (and `implements TokenStore` on the class).
import type { PostgresTokenStore } from '../../adapters/postgres';
import type { CheckPlan, RevokedToken, StoredToken, TokenStore } from '../../lib/store';

type CheckPlanTokenStore = Omit<TokenStore, 'verify' | 'delete'> & {
  verify(id: string, secretHash: string, plan: CheckPlan): Promise<StoredToken | RevokedToken | null>;
  delete(id: string, tombstoneUntil: number): Promise<StoredToken | null>;
};

declare const store: PostgresTokenStore;
export const contract: CheckPlanTokenStore = store;
