import { createHash, timingSafeEqual } from 'node:crypto';

/** A user of the example app, as `resolveUser` hands it to the library (and the library to `req.user`). */
export interface DemoUser {
  login: string;
  name: string;
  disabled: boolean;
}

/**
 * The password of every demo user on the sign-in page (`/signin`). A demo stand-in for a real password check,
 * printed on that page and in the startup banner: the app listens on 127.0.0.1 unless told otherwise.
 */
export const DEMO_PASSWORD = 'demo';

export const DEMO_USERS: DemoUser[] = [
  { login: 'admin', name: 'Administrator', disabled: false },
  { login: 'alice', name: 'Alice', disabled: false },
  { login: 'carol', name: 'Carol (left the company)', disabled: true },
];

/**
 * The app's own user directory, standing in for a real one (LDAP, a users table...). The library only asks
 * it "who is this login?": a disabled or unknown user resolves to null, and then every token of that user is
 * refused, even one that is otherwise valid.
 */
export class UserDirectory {
  private readonly users: Map<string, DemoUser>;

  constructor(users: DemoUser[] = DEMO_USERS) {
    this.users = new Map(users.map((user) => [user.login, user]));
  }

  /** The user behind a login, or null if unknown or disabled (what `resolveUser` must return). */
  resolve(login: string): DemoUser | null {
    const user = this.users.get(login);
    return user && !user.disabled ? user : null;
  }

  /** The user for a sign-in with login and password, or null (wrong password, unknown or disabled user). */
  signIn(login: string, password: string): DemoUser | null {
    // Compared as digests of equal length, so the comparison takes the same time whatever was typed.
    const digest = (text: string) => createHash('sha256').update(text).digest();
    const passwordMatches = timingSafeEqual(digest(password), digest(DEMO_PASSWORD));
    return passwordMatches ? this.resolve(login) : null;
  }
}
