import type { Request } from 'express';
import type { OnEvent } from './events';

/** What `personalTokenAuth()` leaves on a request for `requireNodePermission()` to use later. */
export interface RequestContext {
  realm: string;
  resolveAncestors: ResolveAncestors | undefined;
  onEvent: OnEvent | undefined;
}

/** A node's ancestors (any order), so that a scope on a folder covers what is below it. */
export type ResolveAncestors = (nodeId: string) => readonly string[] | Promise<readonly string[]>;

// A symbol, not a property name: invisible to JSON, to the app and to other middleware.
const CONTEXT = Symbol('personal-token-auth');

export function setRequestContext(req: Request, context: RequestContext): void {
  (req as Request & { [CONTEXT]?: RequestContext })[CONTEXT] = context;
}

export function getRequestContext(req: Request): RequestContext | undefined {
  return (req as Request & { [CONTEXT]?: RequestContext })[CONTEXT];
}
