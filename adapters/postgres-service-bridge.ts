// TRANSITIONAL, not a public entry point: until the token service computes a CheckPlan itself (the
// new store contract), this turns what today's service passes a store (VerifyOptions; delete without
// a tombstone life) into the plan the new service will pass, by the same rule: slide to
// min(now + window, hard limit) from the terms the token carries, write a use once the last one is
// touchInterval old. A plan passes through as it is, so that this is a no-op once the service makes
// plans. Delete this file when it does, passing the store itself where `forCurrentService` is called.
import { type CheckPlan, TOMBSTONE_LIFE, type TokenStore, type VerifyOptions } from '../lib/store';
import type { PostgresTokenStore } from './postgres';

export function planOf(now: number, options: VerifyOptions | CheckPlan): CheckPlan {
  if ('touchIfBefore' in options) return options;
  const terms = options.terms;
  return {
    now,
    expiresAt: terms?.autoRefresh
      ? Math.min(now + terms.autoRefresh, terms.hardExpiresAt ?? Number.POSITIVE_INFINITY)
      : null,
    touchIfBefore: now - options.touchInterval,
    ...(options.ip === undefined ? {} : { ip: options.ip }),
  };
}

/** The store, as today's TokenService calls a store. */
export function forCurrentService(store: PostgresTokenStore): TokenStore {
  return {
    create: (token) => store.create(token),
    verify: (id, secretHash, options) => store.verify(id, secretHash, planOf(store.now(), options)),
    get: (id) => store.get(id),
    listPage: (user, page) => store.listPage(user, page),
    delete: (id: string, tombstoneUntil?: number) =>
      store.delete(id, tombstoneUntil ?? store.now() + TOMBSTONE_LIFE),
    limit: (id, hardExpiresAt) => store.limit(id, hardExpiresAt),
    now: () => store.now(),
    recordFailure: (key, window) => store.recordFailure(key, window),
    reserveAttempt: (key, limit, window) => store.reserveAttempt(key, limit, window),
    releaseAttempt: (key, attempt) => store.releaseAttempt(key, attempt),
    failAttempt: (key, attempt, window) => store.failAttempt(key, attempt, window),
  };
}
