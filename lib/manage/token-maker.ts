import {
  CallerNotLiveError,
  InvalidTokenOptionsError,
  ScopeNotAllowedError,
  TokenLimitError,
  TokenPolicyError,
  UnknownUserError,
} from '../errors';
import { emit, type OnEvent } from '../events';
import { nodeScopes, type Permission, parseScope } from '../scopes';
import { type CreateOutcome, MAX_FAMILY_DEPTH, type StoredToken } from '../store';
import { generateToken, MAX_HARD_LIMIT, MAX_WINDOW, slidingExpiry } from '../token-format';
import type { TokenTermsRequest } from './caller-bounds';
import type { ManagedStore } from './managed-store';
import { type IssuedToken, type TokenInfo, toInfo } from './token-info';
import { assertWithinLimits, type TokenLimits } from './token-limits';

/** Looks up the app's user for a login; null or undefined means unknown or disabled. */
export type ResolveUser = (login: string) => unknown | Promise<unknown>;
/** Whether the user may use a node at all; a scope can only narrow that. */
export type CanAccess = (user: unknown, nodeId: string, permission: Permission) => boolean | Promise<boolean>;

/** What making a token follows: the service's settings. */
export interface TokenMakerSettings {
  tokenPrefix: string;
  limits: Readonly<TokenLimits>;
  resolveUser: ResolveUser | undefined;
  canAccess: CanAccess | undefined;
  onEvent: OnEvent | undefined;
}

/**
 * Making a token, for an issue and a rotation alike: the policy and the user checked, the record
 * generated and stored (counted against the user's limit in the same step), its family recorded and
 * read again once it exists, and nothing left behind when any of it fails.
 */
export class TokenMaker {
  readonly #calls: ManagedStore;
  readonly #settings: TokenMakerSettings;

  constructor(calls: ManagedStore, settings: TokenMakerSettings) {
    this.#calls = calls;
    this.#settings = settings;
  }

  /**
   * The ancestors of a token to be made by the token `parentId` (none: by the app) in the place of
   * `base` (the ancestors of a token it replaces), and which of them are live now, to be read again
   * once it is made (see lib/manage/family-revocation.ts). `CallerNotLiveError` if the parent is not live.
   */
  async familyOf(parentId: string | undefined, base: readonly string[]): Promise<Family> {
    const store = this.#calls.store;
    if (!store.listDescendants) return { ancestorIds: [], live: [] };
    const parent = parentId === undefined ? null : await this.#calls.call('get', () => store.get(parentId));
    if (parentId !== undefined && parent === null) throw new CallerNotLiveError();
    const chain = parent ? [parent.id, ...(parent.ancestorIds ?? [])] : [];
    const ancestorIds = [...new Set([...chain, ...base])];
    if (ancestorIds.length > MAX_FAMILY_DEPTH) {
      throw new TokenPolicyError(
        'ERR_FAMILY_TOO_DEEP',
        `The token making the request descends from ${MAX_FAMILY_DEPTH} tokens already, the most a token may: it can make no token`,
      );
    }
    const others = ancestorIds.filter((id) => id !== parentId);
    const found = await Promise.all(others.map((id) => this.#calls.call('get', () => store.get(id))));
    const live = others.filter((_, i) => found[i] !== null);
    return { ancestorIds, live: parentId === undefined ? live : [parentId, ...live] };
  }

  /**
   * After a token made in `family` exists: whether its ancestors that were live before still are.
   * If one is gone (its family is being revoked), the token is withdrawn and that ancestor's id
   * returned; should the reads fail, it is withdrawn and the failure thrown.
   */
  async goneFromFamily(id: string, family: Family): Promise<string | undefined> {
    if (family.live.length === 0) return undefined;
    let gone: string | undefined;
    try {
      const found = await Promise.all(
        family.live.map((ancestor) => this.#calls.call('get', () => this.#calls.store.get(ancestor))),
      );
      gone = family.live.find((_, i) => found[i] === null);
    } catch (error) {
      await this.#calls.withdraw(id, Promise.resolve(true));
      throw error;
    }
    if (gone !== undefined) await this.#calls.withdraw(id, Promise.resolve(true));
    return gone;
  }

  /** Throws `TokenPolicyError` for a token made at `now` on these terms that the policy forbids. */
  assertPolicy(now: number, terms: TokenTermsRequest): void {
    assertWithinLimits(this.#settings.limits, {
      scopes: terms.scopes,
      hardLimit: terms.hardExpiresAt === null ? null : terms.hardExpiresAt - now,
      window: terms.autoRefresh,
    });
  }

  /**
   * Stores a new token created at `now` (the same instant its hard limit was computed from), unless
   * its user already has `maxLiveTokens` live tokens (`TokenLimitError`): the store counts and
   * writes in one atomic step, so that no number of racing issues gets past the limit.
   */
  async create(
    now: number,
    fields: Pick<StoredToken, 'user' | 'label' | 'scopes' | 'hardExpiresAt' | 'autoRefresh' | 'ancestorIds'>,
    maxLiveTokens: number | undefined,
    announce = true,
  ): Promise<IssuedToken> {
    if ((fields.autoRefresh ?? 0) > MAX_WINDOW || (fields.hardExpiresAt ?? 0) > MAX_HARD_LIMIT) {
      throw new InvalidTokenOptionsError(
        'The sliding window or the hard limit is too far away (at most about 89 years)',
      );
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const { token, id, secretHash } = generateToken(this.#settings.tokenPrefix, fields);
      const record: StoredToken = {
        ...fields,
        id,
        secretHash,
        createdAt: now,
        // Made at `now` as if used then: a sliding token's first window, else its hard limit.
        expiresAt: slidingExpiry(fields, now) ?? fields.hardExpiresAt ?? Number.POSITIVE_INFINITY,
        lastUsedAt: null,
        lastUsedIp: null,
        recentIps: [],
      };
      if (record.expiresAt <= now) throw new InvalidTokenOptionsError('The token would already be expired');
      const outcome = await this.#save(record, maxLiveTokens);
      if (outcome === 'over-limit') throw new TokenLimitError(record.user, maxLiveTokens!);
      // An id collision (64 random bits) is astronomically rare; the store refuses it rather than overwrite.
      if (outcome === 'created') {
        const info = toInfo(record);
        if (announce) this.emitIssued(info);
        return { token, ...info };
      }
    }
    throw new Error('Could not find a free token id in 3 attempts');
  }

  emitIssued(info: TokenInfo): void {
    emit(this.#settings.onEvent, {
      type: 'issued',
      time: info.createdAt,
      tokenId: info.id,
      login: info.user,
      label: info.label,
      scopes: info.scopes,
      expiresAt: info.expiresAt,
      hardExpiresAt: info.hardExpiresAt,
      autoRefresh: info.autoRefresh,
    });
  }

  /**
   * `store.create` under the deadline. A create that failed or was late may still have stored the
   * token (a lost answer, a late one): it is withdrawn before the failure is reported.
   */
  async #save(record: StoredToken, maxLiveTokens: number | undefined): Promise<CreateOutcome> {
    const creating = Promise.resolve().then(() => this.#calls.store.create(record, { maxLiveTokens }));
    try {
      return await this.#calls.call('create', () => creating);
    } catch (error) {
      await this.#calls.withdraw(
        record.id,
        creating.then(
          (outcome) => outcome === 'created',
          () => true,
        ),
      );
      throw error;
    }
  }

  async checkUser(login: string, scopes: string[]): Promise<void> {
    if (!this.#settings.resolveUser && !this.#settings.canAccess) return;
    const user = this.#settings.resolveUser ? await this.#settings.resolveUser(login) : login;
    if (user === null || user === undefined) throw new UnknownUserError(login);
    if (!this.#settings.canAccess) return;
    for (const text of nodeScopes(scopes)) {
      const { nodeId, permission } = parseScope(text);
      if (!(await this.#settings.canAccess(user, nodeId, permission))) {
        throw new ScopeNotAllowedError(
          `User "${login}" has no "${permission}" access to node ${nodeId}, so no token can grant it`,
        );
      }
    }
  }
}

/**
 * The ancestors of a token to be made, and those of them live before it was, to be read again after
 * (see lib/manage/family-revocation.ts).
 */
export interface Family {
  ancestorIds: string[];
  live: string[];
}
