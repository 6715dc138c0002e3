import { stat } from 'node:fs';
import type { Writable } from 'node:stream';
import { v2 as webdav } from 'webdav-server';
import { DistinctModificationTimes, entityTagOf } from './distinct-modification-times';
import type { NodeTree } from './node-tree';

// webdav-server's callbacks are typed `(error: Error, ...)` although they mean "error or nothing".
const NO_ERROR = null as unknown as Error;

/**
 * PhysicalFileSystem hands the rename's own error on when the destination's folder is missing (or is a file),
 * which webdav-server answers with a 500; RFC 4918 9.9.4 says 409.
 */
function missingFolderAsConflict(error: Error | undefined): Error | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' ? webdav.Errors.IntermediateResourceMissing : error;
}

/**
 * webdav-server's own disk-backed file system, told to report moves and deletes to the node tree so that
 * node UUIDs follow renamed and moved nodes and die with deleted ones. Creates need no hook: a new path
 * gets its UUID the first time the tree sees it. Entity tags change with every write (see
 * DistinctModificationTimes), where webdav-server's hash only the modification time to the millisecond.
 */
export class NodeTrackingFileSystem extends webdav.PhysicalFileSystem {
  private readonly writeTimes = new DistinctModificationTimes();

  /** `gone` hears of every path whose node was deleted, moved away or replaced (its locks end with it). */
  constructor(
    private readonly nodes: NodeTree,
    private readonly gone: (path: string) => void = () => {},
  ) {
    super(nodes.filesDir);
  }

  // PhysicalFileSystem has no existence check, so webdav-server skipped its "destination must not exist"
  // test and a COPY with `Overwrite: F` onto an existing file overwrote it instead of failing with 412.
  protected override _fastExistCheck(
    _ctx: webdav.RequestContext,
    path: webdav.Path,
    callback: (exists: boolean) => void,
  ): void {
    stat(this.getRealPath(path).realPath, (error) => callback(!error));
  }

  protected override _etag(
    path: webdav.Path,
    _ctx: webdav.ETagInfo,
    callback: webdav.ReturnCallback<string>,
  ) {
    stat(this.getRealPath(path).realPath, { bigint: true }, (error, stats) => {
      if (error) callback(webdav.Errors.ResourceNotFound);
      else callback(NO_ERROR, entityTagOf(stats));
    });
  }

  protected override _openWriteStream(
    path: webdav.Path,
    ctx: webdav.OpenWriteStreamInfo,
    callback: webdav.ReturnCallback<Writable>,
  ): void {
    const { realPath } = this.getRealPath(path);
    this.writeTimes.beforeWrite(realPath);
    super._openWriteStream(path, ctx, (error, stream) => {
      // First of the 'finish' listeners, and synchronous: the new time is set before PUT answers.
      stream?.prependListener('finish', () => this.writeTimes.afterWrite(realPath));
      callback(error, stream);
    });
  }

  protected override _move(
    pathFrom: webdav.Path,
    pathTo: webdav.Path,
    ctx: webdav.MoveInfo,
    callback: webdav.ReturnCallback<boolean>,
  ): void {
    const from = pathFrom.toString();
    const to = pathTo.toString();
    super._move(pathFrom, pathTo, ctx, (error, overwritten) => {
      if (!error) {
        this.nodes.moved(from, to);
        this.moveResources(from, to);
        this.gone(from);
        this.gone(to);
      }
      callback(missingFolderAsConflict(error), overwritten);
    });
  }

  protected override _delete(
    path: webdav.Path,
    ctx: webdav.DeleteInfo,
    callback: webdav.SimpleCallback,
  ): void {
    super._delete(path, ctx, (error) => {
      // Also after a failure: a recursive delete may have removed part of the subtree.
      this.nodes.deleted(path.toString());
      this.gone(path.toString());
      callback(error);
    });
  }

  // PhysicalFileSystem keeps dead properties and locks in `resources`, keyed by DAV path, but its _move
  // re-keys them by real disk path; re-key them by DAV path so properties travel with a moved node.
  private moveResources(from: string, to: string): void {
    for (const key of Object.keys(this.resources)) {
      if (key !== from && !key.startsWith(from + '/')) continue;
      this.resources[to + key.slice(from.length)] = this.resources[key]!;
      delete this.resources[key];
    }
  }
}
