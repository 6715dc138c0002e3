import type { Request } from 'express';
import { BasicStrategy } from 'passport-http';
import { Strategy as BearerStrategy } from 'passport-http-bearer';

/**
 * What the token strategies are to passport: a named strategy with `authenticate`. Declared here,
 * not taken from @types/passport-http*, so that the package's public declarations need no types
 * package (those pull in types of other frameworks, which do not all compile under
 * `skipLibCheck: false`). The shape is what passport's `use()` accepts.
 */
export interface PassportStrategy {
  name: string;
  authenticate(req: Request, options?: object): void;
}

/** The constructor of passport-http's and passport-http-bearer's strategies, as the token strategies call it. */
export type PassportStrategyBase = new (
  options: { realm: string },
  verify: (...args: never[]) => void,
) => PassportStrategy;

// The runtime classes stay passport-http's own, so passport sees the strategies it knows
// (their names `basic` and `bearer`, and passport-strategy's prototype).
export const HttpBasicStrategy = BasicStrategy as unknown as PassportStrategyBase;
export const HttpBearerStrategy = BearerStrategy as unknown as PassportStrategyBase;
