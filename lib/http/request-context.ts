import type { Request } from 'express';
import type { OnEvent } from '../events';
import type { ResolveAncestors } from '../scopes';

/** What `personalTokenAuth()` leaves on a request for `requireNodePermission()` to use later. */
export interface RequestContext {
  realm: string;
  resolveAncestors: ResolveAncestors | undefined;
  onEvent: OnEvent | undefined;
}

// A WeakMap rather than a property on `req`: invisible to JSON, to the app and to other middleware,
// and adding a property to every request changes its shape, which costs V8 time on the hot path.
const contexts = new WeakMap<Request, RequestContext>();

export function setRequestContext(req: Request, context: RequestContext): void {
  contexts.set(req, context);
}

export function getRequestContext(req: Request): RequestContext | undefined {
  return contexts.get(req);
}
