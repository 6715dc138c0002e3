/** How a request carried its token: `Authorization: Bearer`, or the password of Basic. */
export type Scheme = 'bearer' | 'basic';

/**
 * Audit events, for `onEvent` of `TokenService` and `personalTokenAuth()`. Each names the token by
 * its public id and never carries the token itself. The reasons of a `rejected` event are for the
 * operator: on the wire every refusal looks the same.
 */
export type RejectReason =
  | 'malformed'
  | 'bad_checksum'
  | 'unknown'
  | 'expired'
  | 'revoked'
  | 'user_mismatch'
  | 'user_disabled'
  | 'insufficient_scope';

interface EventBase {
  time: Date;
}

export type TokenEvent =
  | (EventBase & {
      type: 'issued';
      tokenId: string;
      login: string;
      label: string | null;
      scopes: string[];
      expiresAt: Date;
      hardExpiresAt: Date | null;
      autoRefresh: number | null;
    })
  | (EventBase & {
      type: 'revoked';
      tokenId: string;
      login: string;
      /** Set when the token went with an ancestor being revoked: that ancestor's id. */
      ancestorId?: string;
    })
  | (EventBase & {
      /**
       * Whoever held a token's text reported it leaked (`revokeLeaked`: a leak report, a secret-scanning
       * alert) and it was revoked: `source` is where it was found, as reported, made safe for a log.
       */
      type: 'leaked';
      tokenId: string;
      login: string;
      source: string;
    })
  | (EventBase & { type: 'rotated'; tokenId: string; newTokenId: string; login: string; overlap: number })
  | (EventBase & {
      type: 'authenticated';
      tokenId: string;
      login: string;
      ip: string | undefined;
      scheme: Scheme;
    })
  | (EventBase & {
      type: 'rejected';
      reason: RejectReason;
      tokenId: string | undefined;
      login: string | undefined;
      ip: string | undefined;
      scheme: Scheme | undefined;
    })
  | (EventBase & { type: 'throttled'; ip: string; retryAfter: number })
  /** A token was used from a client IP not among its recent ones (`trackIp`), now recorded. */
  | (EventBase & { type: 'new-ip'; tokenId: string; login: string; ip: string })
  | (EventBase & {
      /** A service asked about a token (`introspectionRouter`): which one, who asked, the verdict. */
      type: 'introspected';
      /** The token asked about; undefined when the text was no well-formed token. */
      tokenId: string | undefined;
      active: boolean;
      /** The client that asked with HTTP Basic, or undefined. */
      clientId: string | undefined;
      /** The personal token (with the `introspect` scope) that asked, or undefined. */
      callerTokenId: string | undefined;
      ip: string | undefined;
    });

export type TokenEventType = TokenEvent['type'];
export type OnEvent = (event: TokenEvent) => void | Promise<void>;

/** Calls a listener without ever letting it break authentication: an audit sink that throws is ignored. */
export function emit(listener: OnEvent | undefined, event: TokenEvent): void {
  if (!listener) return;
  try {
    const result = listener(event);
    if (result && typeof (result as Promise<void>).catch === 'function')
      (result as Promise<void>).catch(() => {});
  } catch {
    // An audit listener must not turn a 200 into a 500.
  }
}

/** A logger with pino's methods (pino, or anything that looks like it). */
export interface PinoLike {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  debug(object: object, message?: string): void;
}

/**
 * An `onEvent` that writes events to a pino logger: `rejected` and `throttled` at warn (someone may
 * be guessing), `leaked` at warn (a token was out in the open), `authenticated` and `introspected`
 * at debug (one per request), the rest at info.
 */
export function pinoEventLogger(logger: PinoLike): OnEvent {
  return (event) => {
    // pino writes its own `time`; the event's goes in as `at`, so a line has no duplicate key.
    const { type, time, ...fields } = event;
    const message = `personal token ${type}`;
    const line = { event: type, at: time, ...fields };
    if (type === 'rejected' || type === 'throttled' || type === 'leaked') logger.warn(line, message);
    else if (type === 'authenticated' || type === 'introspected') logger.debug(line, message);
    else logger.info(line, message);
  };
}
