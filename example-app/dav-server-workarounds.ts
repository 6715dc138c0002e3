import type { Request } from 'express';
import type { v2 as webdav } from 'webdav-server';

/**
 * Keeps three known webdav-server 2.6 bugs from crashing the whole process (each is an exception thrown in
 * a callback, so nothing can catch it, and any authenticated client could trigger it). Called first thing
 * for every request, before the command runs. Each fix is the smallest that avoids the crash; none changes
 * what a well-behaved request gets.
 */
export function applyDavServerWorkarounds(ctx: webdav.HTTPRequestContext): void {
  answerOnlyOnce(ctx);
  tagUntaggedIfLists(ctx);
  dropIfHeaderOfMkcol(ctx);
}

/**
 * Some commands answer twice (PROPPATCH with several set/remove blocks calls its "finalize" once per block),
 * and the second `writeBody` throws ERR_HTTP_HEADERS_SENT. Only the first answer goes out.
 */
function answerOnlyOnce(ctx: webdav.HTTPRequestContext): void {
  const writeBody = ctx.writeBody.bind(ctx);
  const setCode = ctx.setCode.bind(ctx);
  ctx.writeBody = (xml) => {
    if (!ctx.response.headersSent) writeBody(xml);
  };
  ctx.setCode = (code, message) => {
    if (!ctx.response.headersSent) setCode(code, message);
  };
}

/**
 * An If header made of untagged lists, `If: (<token>) (Not <DAV:no-lock>)` (RFC 4918 10.4.2, what litmus and
 * many clients send), makes webdav-server's IfParser call getFileSystem(undefined) and throw (its test for
 * "no tag" is inverted). Untagged lists apply to the request URI, so tagging them with it means the same.
 * Not for LOCK: it never runs IfParser, and reads a refresh's lock token from the untagged header itself.
 */
function tagUntaggedIfLists(ctx: webdav.HTTPRequestContext): void {
  if (ctx.request.method === 'LOCK') return;
  const headers = ctx.request.headers;
  const ifHeader = headers.if;
  if (typeof ifHeader !== 'string' || !ifHeader.trimStart().startsWith('(')) return;
  const requestPath = ((ctx.request as Request).originalUrl ?? ctx.request.url ?? '/').split('?')[0];
  headers.if = `<${requestPath}> ${ifHeader}`;
}

/**
 * MKCOL with any If header dereferences a null file system in checkIfHeader and throws
 * (OpenMarshal/npm-WebDAV-Server#102). webdav-server's If evaluation passes any non-empty list anyway (its
 * test is inverted, see #116), so dropping the header changes no answer; the lock check by owner still runs.
 */
function dropIfHeaderOfMkcol(ctx: webdav.HTTPRequestContext): void {
  if (ctx.request.method === 'MKCOL') delete ctx.request.headers.if;
}
