import { type IfCondition, type IfTaggedLists, parseIfHeader, submittedTokens } from './dav-if-header';
import type { DavLock, DavLockTable } from './dav-locks';
import { parentPath } from './node-tree';

/** What the lock checks need to know of one WebDAV request, its paths already checked and canonical. */
export interface LockedRequest {
  method: string;
  target: string;
  destination: string | null;
  /** The login whose token authenticated the request: only its own locks' tokens count. */
  login: string;
  ifHeader: string | undefined;
}

/** What the checks read of the share: the lock table, and a node's current entity tag (null if none). */
export interface LockCheckContext {
  locks: DavLockTable;
  etagOf(path: string): Promise<string | null>;
  /** The node path an If header's resource tag names, or null if it names nothing on this share. */
  pathOfTag(tag: string): string | null;
}

// Methods no lock stands in the way of (an If header still has to hold): those that change nothing, and
// LOCK and UNLOCK, which check the locks themselves (see dav-lock-commands.ts).
const UNBLOCKED_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PROPFIND', 'LOCK', 'UNLOCK']);
// Methods that add or remove a member of the target's folder, so a depth-0 lock on that folder applies too.
const MEMBERSHIP_METHODS = new Set(['PUT', 'MKCOL', 'DELETE', 'MOVE', 'COPY']);

/**
 * Whether one condition holds for the node at path: a token if it is a live lock's that applies to the node,
 * an entity tag if it is the node's current one (RFC 4918 10.4.4, 10.4.8).
 */
async function conditionHolds(condition: IfCondition, path: string, context: LockCheckContext) {
  let matches: boolean;
  if ('token' in condition) {
    const lock = context.locks.get(condition.token);
    matches = lock !== undefined && context.locks.covering(path).includes(lock);
  } else {
    matches = (await context.etagOf(path)) === condition.etag.replace(/^W\//, '');
  }
  return matches !== condition.not;
}

/** Whether the If header holds: at least one of its lists has every condition true (RFC 4918 10.4.3). */
async function ifHeaderHolds(groups: IfTaggedLists[], target: string, context: LockCheckContext) {
  for (const group of groups) {
    const path = group.resource === null ? target : context.pathOfTag(group.resource);
    if (path === null) continue;
    for (const list of group.lists) {
      let holds = true;
      for (const condition of list) {
        if (!(await conditionHolds(condition, path, context))) {
          holds = false;
          break;
        }
      }
      if (holds) return true;
    }
  }
  return false;
}

/** The locks a request must hold the token of, by what it changes (RFC 4918 7.4, 7.5, 9.9.2). */
function locksInTheWay({ method, target, destination }: LockedRequest, locks: DavLockTable): DavLock[] {
  const changed: DavLock[] = [];
  const changesMembers = MEMBERSHIP_METHODS.has(method);
  const touch = (path: string, withDescendants: boolean) => {
    changed.push(...(withDescendants ? locks.coveringOrBelow(path) : locks.covering(path)));
    const parent = parentPath(path);
    if (changesMembers && parent !== null) {
      changed.push(...locks.covering(parent).filter((lock) => lock.root === parent));
    }
  };
  if (method === 'MOVE' || method === 'DELETE') touch(target, true);
  else if (method !== 'COPY') touch(target, false);
  if (destination !== null) touch(destination, true);
  return [...new Set(changed)];
}

/**
 * The lock checks of one request, or null if it may go on: 400 for an If header that cannot be parsed, 412 if
 * it does not hold, 423 if the request would change something under a lock whose token it does not submit
 * from the lock's own login. Every exclusive lock in the way needs its token; of shared locks, one suffices
 * (each holder of a shared lock may write). LOCK and UNLOCK run their own checks on top of these.
 */
export async function lockRefusal(
  request: LockedRequest,
  context: LockCheckContext,
): Promise<[number, string] | null> {
  let groups: IfTaggedLists[] = [];
  if (request.ifHeader !== undefined) {
    try {
      groups = parseIfHeader(request.ifHeader);
    } catch {
      return [400, 'malformed_if_header'];
    }
    if (!(await ifHeaderHolds(groups, request.target, context))) return [412, 'precondition_failed'];
  }
  if (UNBLOCKED_METHODS.has(request.method)) return null;
  const submitted = submittedTokens(groups);
  const usable = (lock: DavLock) => submitted.has(lock.token) && lock.login === request.login;
  const inTheWay = locksInTheWay(request, context.locks);
  const shared = inTheWay.filter((lock) => lock.scope === 'shared');
  const exclusiveHeld = inTheWay.every((lock) => lock.scope === 'shared' || usable(lock));
  const sharedHeld = shared.length === 0 || shared.some(usable);
  return exclusiveHeld && sharedHeld ? null : [423, 'locked'];
}
