import type { Request } from 'express';
import type { ResolveUser } from '../manage/token-maker';
import type { TokenService } from '../manage/token-service';
import { checkOptions, type OptionNameList, optionNames } from '../option-names';
import { assertRealm, bearerChallenge, DEFAULT_REALM } from './challenges';
import { authenticateCredentials, type Credentials, readCredentials } from './middleware';
import { HttpBearerStrategy } from './passport-base';

export interface TokenStrategyOptions {
  tokens: TokenService;
  /** Default `Users`, as passport-http. */
  realm?: string;
  /** Defaults to the token service's `resolveUser`; without either, the user is `{ login }`. */
  resolveUser?: ResolveUser;
}

export interface BearerTokenStrategyOptions extends TokenStrategyOptions {
  /**
   * Also accept `?access_token=` and a body `access_token` (RFC 6750 §2.2-2.3). Off by default:
   * tokens in URLs end up in access logs, proxies and browser history.
   */
  allowQueryToken?: boolean;
}

/** What both strategies take: `BasicTokenStrategy`'s options, all of them. */
export const TOKEN_STRATEGY_OPTION_NAMES: OptionNameList<TokenStrategyOptions> = {
  tokens: true,
  realm: true,
  resolveUser: true,
};
const OPTION_NAMES = optionNames<BearerTokenStrategyOptions>({
  ...TOKEN_STRATEGY_OPTION_NAMES,
  allowQueryToken: true,
});

/**
 * Passport strategy `bearer` for personal tokens, for apps that use passport themselves
 * (`passport.use(new BearerTokenStrategy({ tokens }))`). It keeps passport-http-bearer's name and
 * challenges but reads the header itself: no tokens from the query string or body unless enabled,
 * and `success(user, info)` always carries the auth info.
 */
export class BearerTokenStrategy extends HttpBearerStrategy {
  // Passport adds these to the per-request copy of the strategy it runs (see passport's authenticate()).
  declare success: (user: Express.User, info?: object) => void;
  declare fail: (challenge: string, status: number) => void;
  declare error: (error: Error) => void;
  // Plain fields, not #private ones: passport runs each request on Object.create(strategy), and
  // #private fields are not reachable through a prototype.
  private readonly tokens: TokenService;
  private readonly realm: string;
  private readonly resolveUser: ResolveUser | undefined;
  private readonly allowQueryToken: boolean;

  constructor(options: BearerTokenStrategyOptions) {
    checkOptions('BearerTokenStrategy', options, OPTION_NAMES);
    if (!options.tokens) throw new TypeError('BearerTokenStrategy requires { tokens: TokenService }');
    const realm = options.realm ?? DEFAULT_REALM;
    assertRealm(realm);
    // The base class insists on a verify callback; this one answers for callers of the base API.
    super({ realm }, (token: string, done: (error: unknown, user?: Express.User | false) => void) => {
      options.tokens.verify(token).then((info) => done(null, info ?? false), done);
    });
    this.tokens = options.tokens;
    this.realm = realm;
    this.resolveUser = options.resolveUser ?? options.tokens.resolveUser;
    this.allowQueryToken = options.allowQueryToken ?? false;
  }

  override authenticate(req: Request): void {
    const credentials = this.read(req);
    authenticateCredentials(credentials, {
      checker: this.tokens.checker,
      schemes: ['bearer'],
      resolveUser: this.resolveUser,
    }).then(
      (outcome) => {
        switch (outcome.kind) {
          case 'success':
            return this.success(outcome.user as Express.User, outcome.info);
          case 'absent':
            return this.fail(bearerChallenge(this.realm), 401);
          case 'malformed':
            return this.fail(bearerChallenge(this.realm, 'invalid_request'), 400);
          case 'rejected':
            return this.fail(bearerChallenge(this.realm, 'invalid_token'), 401);
        }
      },
      (error: unknown) => this.error(error as Error),
    );
  }

  private read(req: Request): Credentials {
    const fromHeader = readCredentials(req.headers.authorization);
    if (!this.allowQueryToken) return fromHeader;
    const fromQuery = stringParam((req.query as Record<string, unknown> | undefined)?.access_token);
    const fromBody = stringParam((req.body as Record<string, unknown> | undefined)?.access_token);
    const found = [fromHeader.scheme === 'bearer' ? fromHeader.token : undefined, fromQuery, fromBody].filter(
      (token) => token !== undefined,
    );
    // RFC 6750 §2: a client must not use more than one method at a time.
    if (found.length > 1) return { scheme: 'malformed', attempted: 'bearer' };
    if (found.length === 1) return { scheme: 'bearer', token: found[0]! };
    return fromHeader;
  }
}

function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
