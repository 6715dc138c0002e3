import type { Request } from 'express';
import { type CallerBounds, callerBounds, ScopeCoverage } from '../manage/caller-bounds';
import type { TokenInfo } from '../manage/token-info';
import type { TokenService } from '../manage/token-service';
import type { ResolveAncestors } from '../scopes';
import { getRequestContext } from './request-context';
import { notFound } from './token-router-errors';

/**
 * The login when the app gives no `getLogin`: `req.authInfo.login` (a personal token), else
 * `req.user.login` (a session, OAuth...).
 */
export function defaultLogin(req: Request): string | undefined {
  if (typeof req.authInfo?.login === 'string') return req.authInfo.login;
  const login = (req.user as { login?: unknown } | undefined)?.login;
  return typeof login === 'string' ? login : undefined;
}

export function resolveAncestorsOf(req: Request): ResolveAncestors | undefined {
  return getRequestContext(req)?.resolveAncestors;
}

/** Whether the request came with a scoped personal token (`personalTokenAuth`). */
export function callerIsNarrowed(req: Request): boolean {
  return (callerBounds(req.authInfo)?.scopes.length ?? 0) > 0;
}

/** Which tokens the request may see: undefined for all of them (it is not narrowed). */
export function visibility(req: Request): ((token: TokenInfo) => Promise<boolean>) | undefined {
  return callerIsNarrowed(req) ? (token) => coveredByCaller(req, token) : undefined;
}

export async function visibleTokens(req: Request, all: TokenInfo[]): Promise<TokenInfo[]> {
  const isVisible = visibility(req);
  if (!isVisible) return all;
  const visible: TokenInfo[] = [];
  for (const token of all) if (await isVisible(token)) visible.push(token);
  return visible;
}

/** The token with this id if the user may see it; else the same 404 as for an id that never existed. */
export async function ownToken(tokens: TokenService, req: Request, login: string): Promise<TokenInfo> {
  const found = await tokens.inspect(String(req.params.id));
  if (!found || found.user !== login || !(await coveredByCaller(req, found))) throw notFound();
  return found;
}

/**
 * Whether the request may see `target` at all: always, unless it came with a scoped token; then only
 * tokens whose every scope that token covers (the same node or one below it, no permission it lacks).
 * A narrow token that leaked must not be able to list, revoke or rotate (and so obtain) broader ones.
 */
async function coveredByCaller(req: Request, target: TokenInfo): Promise<boolean> {
  const caller = callerBounds(req.authInfo);
  if (!caller || caller.tokenId === target.id) return true;
  return coverageOf(req, caller).covers(target.scopes);
}

// One per request: a listing checks every token against the same caller.
const coverages = new WeakMap<Request, ScopeCoverage>();

function coverageOf(req: Request, caller: CallerBounds): ScopeCoverage {
  let coverage = coverages.get(req);
  if (coverage?.callerId !== caller.tokenId) {
    coverage = new ScopeCoverage(caller, resolveAncestorsOf(req));
    coverages.set(req, coverage);
  }
  return coverage;
}
