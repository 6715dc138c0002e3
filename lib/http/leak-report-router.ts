import type { Request, Response, Router } from 'express';
import { TokenService } from '../manage/token-service';
import { checkOptions, optionNames } from '../option-names';
import { clientIp } from './client-ip';
import { FailureThrottle, type ThrottleOptions, throttleSettings } from './failure-throttle';
import { answerThrottled, bodyLimitOption, formBody, mountPostEndpoint } from './post-endpoint';

/**
 * Token revocation for whoever holds a token (RFC 7009's `POST /revoke`, without client
 * authentication): someone who finds a token leaked (in a repository, a log, a chat) posts it, and
 * it is revoked at once (`TokenService.revokeLeaked`). Holding the text is the proof. The answer is
 * the same whatever was posted, so the endpoint tells nobody whether a text is a live token.
 */
export interface LeakReportRouterOptions {
  /** The service whose tokens are reported. */
  tokens: TokenService;
  /**
   * Reports per client IP (`req.ip`) within a window, each report counting whatever it held; past
   * it, 429 with `Retry-After`. Default 20 in 15 minutes; `false` turns it off (for an endpoint
   * that a proxy limits already). Needs a store that counts attempts (every store of the library).
   */
  throttle?: ThrottleOptions | false;
  /** Seconds in the `Retry-After` of a 503 when the store is unavailable. Default 1. */
  retryAfter?: number;
  /** Largest form body accepted, in bytes. Default 4 KiB: a token is about a hundred bytes. */
  bodyLimit?: number;
}

const OPTION_NAMES = optionNames<LeakReportRouterOptions>({
  tokens: true,
  throttle: true,
  retryAfter: true,
  bodyLimit: true,
});

/** The path the router answers at. */
export const LEAK_REPORT_PATH = '/revoke';

/** The throttle when none is given: a finder reports a few tokens, not hundreds. */
export const DEFAULT_LEAK_REPORT_THROTTLE: ThrottleOptions = { maxFailures: 20, window: '15m' };

// Clients whose forwarded address is not one share a single throttling key.
const NO_ADDRESS = 'no-address';

/** Express router for leak reports at `POST /revoke` (see `LeakReportRouterOptions`). */
export function leakReportRouter(options: LeakReportRouterOptions): Router {
  checkOptions('leakReportRouter', options, OPTION_NAMES);
  const { tokens } = options;
  if (!(tokens instanceof TokenService)) {
    throw new TypeError('leakReportRouter needs { tokens: TokenService }');
  }
  const retryAfter = String(options.retryAfter ?? 1);
  const bodyLimit = bodyLimitOption('leakReportRouter', options.bodyLimit ?? 4 * 1024);
  const throttleOption = options.throttle ?? DEFAULT_LEAK_REPORT_THROTTLE;
  const throttle =
    throttleOption === false
      ? undefined
      : new FailureThrottle(tokens, throttleSettings('leakReportRouter', throttleOption));

  async function report(req: Request, res: Response): Promise<void> {
    const token = (req.body as Record<string, unknown> | undefined)?.token;
    // RFC 7009 2.1: `token` is required. A repeated one arrives as an array: which one was meant?
    if (typeof token !== 'string' || token.length === 0) {
      res.status(400).json({ error: 'invalid_request' });
      return;
    }
    // `token_type_hint` is not read: RFC 7009 2.1 lets a server that tells the type itself ignore it
    // (a personal token is an access token), and `unsupported_token_type` is for a type a server
    // cannot revoke, which would answer about the hint, never the token. So every hint gets 200.
    const ip = clientIp(req);
    const source = ip === undefined ? 'leak report' : `leak report from ${ip}`;
    // Whitespace around it is no part of any token: it is the newline an editor ends a file with
    // (`--data-urlencode token@file`) or a form's `+`, and a finder must not get 200 for nothing.
    const revoke = () => tokens.revokeLeaked(token.trim(), { source });
    if (throttle) {
      // Every report counts, whatever its verdict: a limit that spared live tokens would tell them apart.
      const guarded = await throttle.guard(ip ?? NO_ADDRESS, revoke, () => true);
      if (!('outcome' in guarded)) {
        answerThrottled(res, tokens, ip ?? NO_ADDRESS, guarded.retryAfter);
        return;
      }
    } else {
      await revoke();
    }
    // Sent only once the revocation has settled, whatever the verdict: RFC 7009 2.2's 200, whose body
    // a client ignores, empty here, the same for a live token, a revoked one, an unknown one or garbage.
    res.status(200).end();
  }

  const express = loadExpress();
  const router = express.Router();
  mountPostEndpoint(
    router,
    LEAK_REPORT_PATH,
    { body: formBody(express, bodyLimit, true), retryAfter },
    report,
  );
  return router;
}

/** Express is loaded when a router is made, not when the package is (see tokenRouter). */
function loadExpress(): typeof import('express') {
  return require('express');
}
