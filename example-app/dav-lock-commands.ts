import { stat, writeFile } from 'node:fs/promises';
import type { Request } from 'express';
import type { v2 as webdav } from 'webdav-server';
import { runDavCommand } from './dav-async-command';
import { parseIfHeader, submittedTokens } from './dav-if-header';
import { type DavLock, type DavLockTable, lockSeconds } from './dav-locks';
import { davUrlPath } from './dav-paths';
import { writeDavRefusal } from './dav-refusal';
import { childElements, childNamed, escapeXml, parseXmlRoot, serializeElement } from './dav-xml';
import { writeDavXml } from './dav-xml-response';
import type { NodeTree } from './node-tree';

/** The most bytes of `DAV:owner` a lock keeps (it is shown back in every lockdiscovery). */
export const MAX_LOCK_OWNER_BYTES = 4096;

/** One `DAV:activelock` (RFC 4918 14.1), as lockdiscovery lists it and LOCK answers it. */
export function activeLockXml(lock: DavLock, locks: DavLockTable, mountPath: string): string {
  return (
    '<D:activelock>' +
    `<D:locktype><D:write/></D:locktype><D:lockscope><D:${lock.scope}/></D:lockscope>` +
    `<D:depth>${lock.depth}</D:depth>` +
    (lock.ownerXml === '' ? '' : `<D:owner>${lock.ownerXml}</D:owner>`) +
    `<D:timeout>Second-${locks.secondsLeft(lock)}</D:timeout>` +
    `<D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeXml(davUrlPath(lock.root, mountPath))}</D:href></D:lockroot>` +
    '</D:activelock>'
  );
}

const lockAnswer = (lock: DavLock, locks: DavLockTable, mountPath: string) =>
  `<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLockXml(lock, locks, mountPath)}</D:lockdiscovery></D:prop>`;

type LockInfo = Pick<DavLock, 'scope' | 'ownerXml'>;

/** The scope and owner a LOCK body asks for (RFC 4918 14.11), or null if it is no write-lock request. */
function parseLockInfo(body: Buffer): LockInfo | null {
  const root = parseXmlRoot(body, '{DAV:}lockinfo');
  if (root === null) return null;
  const scope = childElements(childNamed(root, '{DAV:}lockscope') ?? root).map((element) => element.name);
  const type = childElements(childNamed(root, '{DAV:}locktype') ?? root).map((element) => element.name);
  if (type.length !== 1 || type[0] !== '{DAV:}write') return null;
  if (scope.length !== 1 || (scope[0] !== '{DAV:}exclusive' && scope[0] !== '{DAV:}shared')) return null;
  const owner = childNamed(root, '{DAV:}owner');
  const ownerXml = (owner?.elements ?? [])
    .map((node) => (node.type === 'text' ? escapeXml(node.text) : serializeElement(node)))
    .join('');
  return { scope: scope[0] === '{DAV:}shared' ? 'shared' : 'exclusive', ownerXml };
}

const loginOf = (ctx: webdav.HTTPRequestContext) => (ctx.request as Request).authInfo?.login ?? '';
const headerOf = (ctx: webdav.HTTPRequestContext, name: string) => (ctx.request as Request).get(name);

export interface LockCommandOptions {
  locks: DavLockTable;
  nodes: NodeTree;
  mountPath: string;
}

/**
 * LOCK (RFC 4918 9.10): with a body, takes a new lock on the target (creating an empty file where there is
 * none, 201), refused with 423 if a lock already there conflicts; without one, refreshes the locks whose
 * tokens the If header submits, if they apply to the target and belong to the caller's login. The If header
 * itself and the scope check have already been checked in front of the command.
 */
async function lock(ctx: webdav.HTTPRequestContext, body: Buffer, options: LockCommandOptions) {
  const { locks, nodes, mountPath } = options;
  const target = ctx.requested.path.toString();
  const timeoutSeconds = lockSeconds(headerOf(ctx, 'Timeout'));
  if (body.length === 0) {
    const ifHeader = headerOf(ctx, 'If');
    if (ifHeader === undefined) return writeDavRefusal(ctx, 400, 'lock_token_required');
    const mine = [...submittedTokens(parseIfHeader(ifHeader))]
      .map((token) => locks.get(token))
      .filter((held): held is DavLock => held !== undefined && held.login === loginOf(ctx))
      .filter((held) => locks.covering(target).includes(held));
    if (mine.length === 0) return writeDavRefusal(ctx, 412, 'no_such_lock');
    for (const held of mine) locks.refresh(held, timeoutSeconds);
    return writeDavXml(ctx, 200, lockAnswer(mine[0]!, locks, mountPath));
  }
  const info = parseLockInfo(body);
  if (info === null) return writeDavRefusal(ctx, 400, 'invalid_lock_request');
  if (Buffer.byteLength(info.ownerXml) > MAX_LOCK_OWNER_BYTES)
    return writeDavRefusal(ctx, 400, 'owner_too_large');
  const depthHeader = headerOf(ctx, 'Depth')?.toLowerCase() ?? 'infinity';
  if (depthHeader !== '0' && depthHeader !== 'infinity') return writeDavRefusal(ctx, 400, 'invalid_depth');
  const taken = locks.lock({
    ...info,
    root: target,
    depth: depthHeader,
    login: loginOf(ctx),
    timeoutSeconds,
  });
  if (taken === 'conflict') return writeDavRefusal(ctx, 423, 'locked');
  if (taken === 'too_many') return writeDavRefusal(ctx, 507, 'too_many_locks');
  // A lock on a path with nothing there makes an empty file (RFC 4918 7.3), in an existing folder only.
  const realPath = nodes.realPath(target);
  const exists = await stat(realPath).then(
    () => true,
    () => false,
  );
  if (!exists) {
    try {
      await writeFile(realPath, '', { flag: 'wx' });
    } catch {
      locks.unlock(taken.token);
      return writeDavRefusal(ctx, 409, 'parent_missing');
    }
  }
  ctx.response.setHeader('Lock-Token', `<${taken.token}>`);
  writeDavXml(ctx, exists ? 200 : 201, lockAnswer(taken, locks, mountPath));
}

/**
 * UNLOCK (RFC 4918 9.11): ends the lock named by `Lock-Token` if it applies to the target (else 409) and
 * belongs to the caller's login (else 403).
 */
function unlock(ctx: webdav.HTTPRequestContext, { locks }: LockCommandOptions) {
  const token = /^\s*<([^<>\s]+)>\s*$/.exec(headerOf(ctx, 'Lock-Token') ?? '')?.[1];
  if (token === undefined) return writeDavRefusal(ctx, 400, 'lock_token_required');
  const held = locks.get(token);
  if (held === undefined || !locks.covering(ctx.requested.path.toString()).includes(held)) {
    return writeDavRefusal(ctx, 409, 'lock_token_matches_request_uri');
  }
  if (held.login !== loginOf(ctx)) return writeDavRefusal(ctx, 403, 'not_lock_owner');
  locks.unlock(token);
  ctx.setCode(204);
}

/** Replaces webdav-server's LOCK and UNLOCK with the ones above, on the given lock table. */
export function useLockCommands(server: webdav.WebDAVServer, options: LockCommandOptions): void {
  server.method('LOCK', {
    unchunked: (ctx, data, callback) => runDavCommand('LOCK', ctx, lock(ctx, data, options), callback),
  });
  server.method('UNLOCK', {
    unchunked(ctx, _data, callback) {
      unlock(ctx, options);
      callback();
    },
  });
}
