import { emit, type OnEvent } from '../events';
import type { CheckedToken, CheckPlan, RecentIp, RevokedToken, StoredToken, TokenStore } from '../store';
import type { ParsedToken } from '../token-format';
import { PendingIps } from './pending-ips';
import { isRecentIp, NEW_IP_WRITE_GAP } from './recent-ips';

/**
 * What recording client addresses (`trackIp`) adds to the checks: a `new-ip` event for each address a
 * check wrote into a token's recent IPs, and the addresses seen within `NEW_IP_WRITE_GAP` of the
 * token's last write, kept (`PendingIps`) for its next write, or written by a timer of their own
 * should no use come. Only a checker that records addresses has one.
 */
export class AddressRecorder {
  readonly #pending = new PendingIps();
  readonly #store: TokenStore;
  readonly #deadlines: StoreDeadline;
  readonly #now: () => number;
  readonly #touchInterval: number;
  readonly #onEvent: OnEvent | undefined;
  readonly #judge: Judge;

  constructor(options: {
    store: TokenStore;
    deadlines: StoreDeadline;
    now: () => number;
    touchInterval: number;
    onEvent: OnEvent | undefined;
    /** The checker's judgement of a store's answer. */
    judge: Judge;
  }) {
    this.#store = options.store;
    this.#deadlines = options.deadlines;
    this.#now = options.now;
    this.#touchInterval = options.touchInterval;
    this.#onEvent = options.onEvent;
    this.#judge = options.judge;
  }

  /** The addresses waiting for a token's next write, or undefined (the common case). */
  pendingOf(id: string): readonly RecentIp[] | undefined {
    return this.#pending.of(id);
  }

  /** What a check with this plan learnt from the store's answer (see `#note`), and its address kept if new. */
  noted(
    parsed: ParsedToken,
    plan: CheckPlan,
    found: CheckedToken | RevokedToken | null,
    result: Judgement,
  ): void {
    this.#note(parsed.id, found, result);
    if (result.ok) this.keepIfNew(result.token, plan, parsed);
  }

  /**
   * Keeps a check's address for the token's next write if the record, as the check saw it, lacks it;
   * should no use come, the write is made once the gap after the record's last write is over.
   */
  keepIfNew(record: StoredToken, plan: CheckPlan, parsed: ParsedToken): void {
    const ip = plan.ip;
    if (typeof ip !== 'string' || isRecentIp(record.recentIps, ip)) return;
    const lastWrite = record.lastUsedAt ?? plan.now;
    this.#pending.add(record.id, ip, plan.now, {
      after: Math.max(0, lastWrite + NEW_IP_WRITE_GAP - plan.now),
      run: () => this.#flush(parsed),
    });
  }

  clear(): void {
    this.#pending.clear();
  }

  /**
   * A `new-ip` event for each address the store's answer says it wrote into the token's recent IPs,
   * and which of the addresses waiting for the token need no write any more.
   */
  #note(id: string, found: CheckedToken | RevokedToken | null, result: Judgement): void {
    // The token is gone: nothing of it is to be written any more.
    if (found === null || (!result.ok && result.reason === 'revoked')) {
      this.#pending.forget(id);
      return;
    }
    // Not a tombstone, which the judgement calls revoked.
    const record = found as CheckedToken;
    const added = record.addedIps;
    if (added !== undefined) {
      // Oldest first: `addedIps` are in the record's order, newest first.
      for (let i = added.length - 1; i >= 0; i--) {
        emit(this.#onEvent, {
          type: 'new-ip',
          time: new Date(this.#now()),
          tokenId: id,
          login: record.user,
          ip: added[i]!,
        });
      }
    }
    if (result.ok && this.#pending.of(id) !== undefined) this.#pending.settle(id, result.token.recentIps);
  }

  /**
   * The write of a token's waiting addresses that no use made (`planFlush`): one store call, as a
   * check's, whose answer is noted as a check's is. Should it write nothing (a newer write came
   * meanwhile) or the store fail, they wait for the next check, with no timer: never a loop.
   */
  #flush(parsed: ParsedToken): void {
    const waiting = this.#pending.of(parsed.id);
    if (waiting === undefined) return;
    const plan = planFlush(waiting, this.#now(), this.#touchInterval);
    this.#deadlines
      .run('verify', () => this.#store.verify(parsed.id, parsed.secretHash, plan))
      .then(
        (found) => this.#note(parsed.id, found, this.#judge(found, parsed, undefined, this.#now())),
        () => {},
      );
  }
}

/** The store call's deadline (the checker's `CallDeadlines`). */
interface StoreDeadline {
  run<T>(operation: string, call: () => Promise<T>): Promise<T>;
}

/** The checker's judgement of a store's answer (its `Check`). */
type Judgement = { ok: true; token: StoredToken } | { ok: false; reason: string };

type Judge = (
  found: StoredToken | RevokedToken | null,
  parsed: ParsedToken,
  login: string | undefined,
  now: number,
) => Judgement;

/**
 * The plan of the write that puts a token's waiting addresses on record when no use came to make it:
 * the use at the latest of them, from its address and at its time, the others pending; due only once
 * `NEW_IP_WRITE_GAP` has passed since the token's last write, by `now`, and only if that write is not
 * newer than the use. It moves no expiry: it is no use of its own, only the record of those that were.
 */
export function planFlush(waiting: readonly RecentIp[], now: number, touchInterval: number): CheckPlan {
  let latest = waiting[0]!;
  for (const entry of waiting) if (entry.lastSeenAt >= latest.lastSeenAt) latest = entry;
  const others = waiting.filter((entry) => entry !== latest);
  return {
    now: latest.lastSeenAt,
    expiresAt: null,
    touchIfBefore: latest.lastSeenAt - touchInterval,
    ip: latest.ip,
    // Nor after a write newer than that use: the record's last use never goes back.
    newIpIfBefore: Math.min(now - NEW_IP_WRITE_GAP, latest.lastSeenAt),
    pendingIps: others.length > 0 ? others : undefined,
  };
}
