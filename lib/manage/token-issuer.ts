import { CallerNotLiveError, InvalidTokenOptionsError } from '../errors';
import { emit, type OnEvent } from '../events';
import { isTokenId } from '../token-format';
import {
  assertGrantableByCaller,
  assertWithinCaller,
  type Caller,
  callerBounds,
  ScopeCoverage,
} from './caller-bounds';
import {
  callerLogin,
  type IssueForOptions,
  type IssueOptions,
  parseOverlap,
  type RotateOptions,
  validateIssue,
} from './issue-options';
import type { ManagedStore } from './managed-store';
import type { IssuedToken } from './token-info';
import type { TokenMaker } from './token-maker';

/**
 * The three ways a token comes to be: issued by the app, issued for a caller (never broader than a
 * personal token that asks), and rotated. Each reads and checks what it is asked first, then has the
 * token made (`TokenMaker`).
 */
export class TokenIssuer {
  readonly #calls: ManagedStore;
  readonly #maker: TokenMaker;
  readonly #tokenLike: (text: string) => boolean;
  readonly #maxTokensPerUser: number | undefined;
  readonly #onEvent: OnEvent | undefined;

  constructor(
    calls: ManagedStore,
    maker: TokenMaker,
    settings: {
      tokenLike: (text: string) => boolean;
      maxTokensPerUser: number | undefined;
      onEvent: OnEvent | undefined;
    },
  ) {
    this.#calls = calls;
    this.#maker = maker;
    this.#tokenLike = settings.tokenLike;
    this.#maxTokensPerUser = settings.maxTokensPerUser;
    this.#onEvent = settings.onEvent;
  }

  async issue(options: IssueOptions): Promise<IssuedToken> {
    const { user, label, hardLimit, window, scopes } = validateIssue(options, this.#tokenLike);
    const now = this.#calls.now();
    const terms = { scopes, hardExpiresAt: hardLimit === null ? null : now + hardLimit, autoRefresh: window };
    this.#maker.assertPolicy(now, terms);
    await this.#maker.checkUser(user, scopes);
    return this.#maker.create(now, { user, label, ...terms }, this.#maxTokensPerUser);
  }

  async issueFor(caller: Caller, options: IssueForOptions): Promise<IssuedToken> {
    const bounds = callerBounds(caller);
    const user = options.user ?? callerLogin(caller);
    if (user === undefined) {
      throw new InvalidTokenOptionsError(
        "issueFor needs the caller: its request's req.authInfo, or its login",
      );
    }
    const { label, hardLimit, window, scopes } = validateIssue({ ...options, user }, this.#tokenLike);
    assertGrantableByCaller(scopes);
    const now = this.#calls.now();
    const terms = { scopes, hardExpiresAt: hardLimit === null ? null : now + hardLimit, autoRefresh: window };
    this.#maker.assertPolicy(now, terms);
    if (bounds)
      await assertWithinCaller(bounds, terms, now, new ScopeCoverage(bounds, options.resolveAncestors));
    await this.#maker.checkUser(user, scopes);
    if (!bounds) return this.#maker.create(now, { user, label, ...terms }, this.#maxTokensPerUser);
    const family = await this.#maker.familyOf(bounds.tokenId, []);
    const fields = { user, label, ...terms, ancestorIds: family.ancestorIds };
    const issued = await this.#maker.create(now, fields, this.#maxTokensPerUser, false);
    // Whichever of its ancestors is gone, the caller descends from it: it goes too.
    if ((await this.#maker.goneFromFamily(issued.id, family)) !== undefined) throw new CallerNotLiveError();
    this.#maker.emitIssued(issued);
    return issued;
  }

  async rotate(id: string, options: RotateOptions = {}): Promise<IssuedToken | null> {
    const overlap = options.overlap === undefined ? 0 : parseOverlap(options.overlap);
    if (!isTokenId(id)) return null;
    const old = await this.#calls.call('get', () => this.#calls.store.get(id));
    if (!old) return null;
    const now = this.#calls.now();
    const terms = { scopes: old.scopes, hardExpiresAt: old.hardExpiresAt, autoRefresh: old.autoRefresh };
    // A policy tightened since the old token was made applies to its replacement.
    this.#maker.assertPolicy(now, terms);
    const bounds = callerBounds(options.caller);
    // Not even a token rotating itself: what a caller may not be given, it may not renew either.
    if (options.caller !== undefined) assertGrantableByCaller(terms.scopes);
    // A token rotating itself hands on its own terms.
    if (bounds && bounds.tokenId !== id) {
      await assertWithinCaller(bounds, terms, now, new ScopeCoverage(bounds, options.resolveAncestors));
    }
    // With an overlap, the user has one live token more until it ends: that counts as an issue does.
    // Rotating a token already in its overlap again is then bounded by the same count (and its
    // replacement gets the overlap's end as its hard limit). Without an overlap, one token replaces one.
    const limit = overlap > 0 ? this.#maxTokensPerUser : undefined;
    // The replacement takes the old token's place in its family; made by another token, it is that
    // one's child too. Never the child of the token it replaces, which rotation takes away.
    const maker = bounds && bounds.tokenId !== id ? bounds.tokenId : undefined;
    const family = await this.#maker.familyOf(maker, old.ancestorIds ?? []);
    const fields = { user: old.user, label: old.label, ...terms, ancestorIds: family.ancestorIds };
    const fresh = await this.#maker.create(now, fields, limit, false);
    const gone = await this.#maker.goneFromFamily(fresh.id, family);
    if (gone !== undefined && gone === maker) throw new CallerNotLiveError();
    // The old token's family is being revoked: it is going too, and nothing replaces it.
    if (gone !== undefined) return null;
    let replaced: boolean;
    try {
      replaced =
        overlap === 0
          ? (await this.#calls.revoke(id)) !== null
          : await this.#calls.takeAway([id], 'limit', () =>
              this.#calls.store.limit(id, this.#calls.now() + overlap),
            );
      await this.#calls.announce([id]);
    } catch (error) {
      // The replacement's text goes nowhere with this failure: it is revoked, as a failed issue's is.
      await this.#calls.withdraw(fresh.id, Promise.resolve(true));
      throw error;
    }
    // The old token was gone by then: a racing rotation replaced it, or it was revoked or expired.
    // Only the rotation that took it away keeps its replacement, or rotations racing without an
    // overlap (which the limit does not count) would turn one token into as many as there are.
    if (!replaced) {
      await this.#calls.withdraw(fresh.id, Promise.resolve(true));
      return null;
    }
    emit(this.#onEvent, {
      type: 'rotated',
      time: new Date(this.#calls.now()),
      tokenId: id,
      newTokenId: fresh.id,
      login: old.user,
      overlap,
    });
    return fresh;
  }
}
