import type { TokenStore } from '../../lib/index';

/** A token store whose lookups fail as an unreachable Redis does: what must give 503, never a pass. */
export function unavailableStore(): TokenStore {
  return {
    create: async () => 'created',
    verify: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')),
    get: async () => null,
    listPage: async () => ({ tokens: [], cursor: null }),
    delete: async () => null,
    limit: async () => false,
  };
}
