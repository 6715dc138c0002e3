import type { NextFunction, Request, Response } from 'express';

/**
 * The app's own authentication, for mounting the token router behind it in tests: a trusted
 * `X-Test-Login` header stands in for a session cookie.
 */
export function testSession(req: Request, _res: Response, next: NextFunction): void {
  const login = req.get('x-test-login');
  if (login) req.user = { login } as Express.User;
  next();
}
