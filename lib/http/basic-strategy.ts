import type { Request } from 'express';
import type { ResolveUser } from '../manage/token-maker';
import type { TokenService } from '../manage/token-service';
import { checkOptions, optionNames } from '../option-names';
import { TOKEN_STRATEGY_OPTION_NAMES, type TokenStrategyOptions } from './bearer-strategy';
import { assertRealm, basicChallenge, DEFAULT_REALM } from './challenges';
import { authenticateCredentials, readCredentials } from './middleware';
import { HttpBasicStrategy } from './passport-base';

export type BasicTokenStrategyOptions = TokenStrategyOptions;

const OPTION_NAMES = optionNames<BasicTokenStrategyOptions>(TOKEN_STRATEGY_OPTION_NAMES);

/**
 * Passport strategy `basic` where the password is a personal token and the username must be its
 * owner, for WebDAV and other Basic-auth clients. Built on passport-http, with its defects fixed:
 * the password is everything after the first `:`, credentials are UTF-8 (announced with
 * `charset="UTF-8"`), the scheme is matched whole and in any case, and `success(user, info)` passes
 * the auth info on to `req.authInfo`.
 */
export class BasicTokenStrategy extends HttpBasicStrategy {
  // Passport adds these to the per-request copy of the strategy it runs (see passport's authenticate()).
  declare success: (user: Express.User, info?: object) => void;
  declare fail: (challenge: string, status: number) => void;
  declare error: (error: Error) => void;
  // Plain fields, not #private ones: passport runs each request on Object.create(strategy), and
  // #private fields are not reachable through a prototype.
  private readonly tokens: TokenService;
  private readonly realm: string;
  private readonly resolveUser: ResolveUser | undefined;

  constructor(options: BasicTokenStrategyOptions) {
    checkOptions('BasicTokenStrategy', options, OPTION_NAMES);
    if (!options.tokens) throw new TypeError('BasicTokenStrategy requires { tokens: TokenService }');
    const realm = options.realm ?? DEFAULT_REALM;
    assertRealm(realm);
    // The base class insists on a verify callback; this one answers for callers of the base API.
    super({ realm }, (login: string, password: string, done: (error: unknown, user?: unknown) => void) => {
      options.tokens.verify(password, { login }).then((info) => done(null, info ?? false), done);
    });
    this.tokens = options.tokens;
    this.realm = realm;
    this.resolveUser = options.resolveUser ?? options.tokens.resolveUser;
  }

  override authenticate(req: Request): void {
    const credentials = readCredentials(req.headers.authorization);
    authenticateCredentials(credentials, {
      checker: this.tokens.checker,
      schemes: ['basic'],
      resolveUser: this.resolveUser,
    }).then(
      (outcome) => {
        switch (outcome.kind) {
          case 'success':
            return this.success(outcome.user as Express.User, outcome.info);
          case 'malformed':
            return this.fail(basicChallenge(this.realm), 400);
          case 'absent':
          case 'rejected':
            return this.fail(basicChallenge(this.realm), 401);
        }
      },
      (error: unknown) => this.error(error as Error),
    );
  }
}
