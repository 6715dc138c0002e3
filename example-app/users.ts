/** A user of the example app, as `resolveUser` hands it to the library (and the library to `req.user`). */
export interface DemoUser {
  login: string;
  name: string;
  disabled: boolean;
}

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
}
