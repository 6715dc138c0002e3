import type { v2 as webdav } from 'webdav-server';

/**
 * Keeps a known webdav-server 2.6 bug from crashing the whole process (an exception thrown in a callback,
 * so nothing can catch it, and any authenticated client could trigger it). Called first thing for every
 * request, before the command runs. (Its If-header bugs cannot be met: the app evaluates `If` itself and
 * webdav-server never sees it, see dav.ts.)
 */
export function applyDavServerWorkarounds(ctx: webdav.HTTPRequestContext): void {
  answerOnlyOnce(ctx);
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
