import type { NextFunction, Request, Response } from 'express';
import { sentByAnotherSite } from './sent-by-another-site';

// Methods that change nothing. PROPFIND cannot be sent cross-site without a CORS preflight anyway.
const READ_ONLY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PROPFIND']);
const ALLOWED_METHODS =
  'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK';

/**
 * Keeps browsers from writing into WebDAV on behalf of a user whose Basic credentials they remember: a page on
 * any site can make the browser send a form POST (which webdav-server would treat as PUT) with them. POST is
 * refused (405), and so is any state-changing request another site sent (403), before authentication, so
 * nothing runs and no login prompt shows.
 */
export function refuseBrowserWrites(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'POST') {
    res.set('Allow', ALLOWED_METHODS);
    return void res.status(405).json({ error: 'method_not_allowed' });
  }
  if (!READ_ONLY_METHODS.has(req.method) && sentByAnotherSite(req)) {
    return void res.status(403).json({ error: 'cross_site_request' });
  }
  next();
}
