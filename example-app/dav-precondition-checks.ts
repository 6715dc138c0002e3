import type { Request } from 'express';
import type { v2 as webdav } from 'webdav-server';
import {
  type CurrentRepresentation,
  hasPreconditions,
  type Preconditions,
  preconditionOutcome,
  READ_METHODS,
} from './dav-preconditions';
import type { SerialByKey } from './serial-by-key';

/** The node at path as the preconditions see it, or null if nothing is there. */
async function currentRepresentation(
  ctx: webdav.HTTPRequestContext,
  path: string,
): Promise<CurrentRepresentation | null> {
  try {
    const resource = await ctx.server.getResourceAsync(ctx, path);
    const { isDirectory } = await resource.typeAsync();
    const etag = await resource.etagAsync();
    return { etag, lastModified: await resource.lastModifiedDateAsync(), isFolder: isDirectory };
  } catch {
    return null;
  }
}

/**
 * The HTTP preconditions of one WebDAV request (If-Match, If-None-Match, If-Modified-Since,
 * If-Unmodified-Since; see preconditionOutcome), once its scopes and locks are checked, so that a token
 * without the right to a node learns nothing of its entity tag. GET and HEAD of a file get its `ETag` and
 * `Last-Modified` (PROPFIND's getetag and getlastmodified). Returns null if the request may go on, else
 * [status, error].
 *
 * A conditional change waits for the one before it on the same node to be answered (`writes`), so two
 * clients saving with the same entity tag cannot both pass the check before either has written: the second
 * sees the first one's tag, and gets 412.
 */
export async function preconditionRefusal(
  ctx: webdav.HTTPRequestContext,
  method: string,
  target: string,
  writes: SerialByKey,
): Promise<[number, string] | null> {
  if (method === 'OPTIONS') return null;
  const request = ctx.request as Request;
  const conditions: Preconditions = {
    ifMatch: request.get('If-Match'),
    ifNoneMatch: request.get('If-None-Match'),
    ifModifiedSince: request.get('If-Modified-Since'),
    ifUnmodifiedSince: request.get('If-Unmodified-Since'),
  };
  const reads = READ_METHODS.has(method);
  if (!reads && !hasPreconditions(conditions)) return null;
  if (!reads) {
    await new Promise<void>((resolve) =>
      writes.run(target, (done) => {
        // A client gone already will never see its answer end: the next one need not wait for it.
        if (ctx.response.destroyed) done();
        else ctx.response.once('close', done);
        resolve();
      }),
    );
  }
  const current = await currentRepresentation(ctx, target);
  if (reads && current !== null && !current.isFolder) {
    ctx.response.setHeader('ETag', current.etag);
    ctx.response.setHeader('Last-Modified', new Date(current.lastModified).toUTCString());
  }
  const outcome = preconditionOutcome(method, conditions, current);
  if (outcome === null) return null;
  return outcome === 304 ? [304, 'not_modified'] : [412, 'precondition_failed'];
}
