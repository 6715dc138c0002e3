import { ACCEPTED_DURATION } from '../lib/duration';
import { parseExpiringCursor } from '../lib/expiring-page';
import {
  type IssuedToken,
  parseDuration,
  type TokenInfo,
  type TokenInfoPage,
  type TokenService,
} from '../lib/index';
import { quoteInput } from '../lib/quote-input';
import { normaliseScope } from '../lib/scopes';
import { isTokenId } from '../lib/token-format';
import { BATCH_SIZE, MAX_PAGE_SIZE, parsePageCursor } from '../lib/token-page';
import { CommandFailure, errorCode, UsageError } from './errors';

/**
 * The CLI's commands as plain functions: `parse*` turns raw option values into a request or throws a
 * UsageError (before anything touches the store), and the action runs a request against a
 * TokenService. The commander program in program.ts is only the shell around them.
 */

const SCOPE_FORM = 'node:<NODE_ID>:<r|w|rw> or introspect, several separated by commas or in repeated -s';

export interface CreateOptions {
  user?: string;
  expire?: string;
  auto?: string;
  scope?: string[];
  label?: string;
}

export interface CreateRequest {
  user: string;
  /** Hard limit in ms (`-e`). */
  expiresIn?: number;
  /** Sliding window in ms (`-a`). */
  autoRefresh?: number;
  /** Normalised, without duplicates; empty = the user's full access. */
  scopes: string[];
  label?: string;
}

export function parseCreateOptions(options: CreateOptions): CreateRequest {
  const user = requireUser(options.user);
  if (options.expire === undefined && options.auto === undefined) {
    throw new UsageError(
      'missing expiry: give -e, --expire <duration> (hard limit) and/or -a, --auto <duration> (sliding window)',
    );
  }
  const request: CreateRequest = { user, scopes: parseScopeOptions(options.scope ?? []) };
  if (options.expire !== undefined) request.expiresIn = parseDurationOption(options.expire, '-e, --expire');
  if (options.auto !== undefined) request.autoRefresh = parseDurationOption(options.auto, '-a, --auto');
  if (options.label !== undefined) {
    if (options.label.trim() === '') throw new UsageError('-l, --label must not be empty');
    request.label = options.label;
  }
  return request;
}

export function createToken(tokens: TokenService, request: CreateRequest): Promise<IssuedToken> {
  return tokens.issue({
    user: request.user,
    expiresIn: request.expiresIn,
    autoRefresh: request.autoRefresh,
    scopes: request.scopes,
    label: request.label,
  });
}

export interface ListOptions {
  user?: string;
  limit?: string;
  cursor?: string;
}

/** Every token of the user, or (with `page`) one page of them. */
export interface ListRequest {
  user: string;
  page?: { limit?: number; cursor: string | null };
}

export function parseListOptions(options: ListOptions): ListRequest {
  const user = requireUser(options.user);
  if (options.limit === undefined && options.cursor === undefined) return { user };
  return { user, page: parsePageOptions(options, parsePageCursor) };
}

/** `--limit` and `--cursor` of a command that prints one page: a UsageError for either out of form. */
function parsePageOptions(
  options: { limit?: string; cursor?: string },
  parseCursor: (text: string) => unknown,
): { limit?: number; cursor: string | null } {
  let limit: number | undefined;
  if (options.limit !== undefined) {
    limit = /^\d{1,4}$/.test(options.limit) ? Number(options.limit) : 0;
    if (limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new UsageError(`invalid --limit: expected a whole number from 1 to ${MAX_PAGE_SIZE}`);
    }
  }
  const cursor = options.cursor ?? null;
  if (cursor !== null && parseCursor(cursor) === null) {
    throw new UsageError('invalid --cursor: expected the cursor printed after a previous page');
  }
  return { limit, cursor };
}

/**
 * The user's live tokens, newest first: all of them (read page by page), or the one page asked
 * for, with the cursor of the next. TokenInfo never holds secret material.
 */
export async function listTokens(
  tokens: TokenService,
  request: ListRequest,
): Promise<{ tokens: TokenInfo[]; next: string | null }> {
  if (request.page === undefined) return { tokens: await tokens.list(request.user), next: null };
  const page = await tokens.listPage(request.user, request.page);
  return { tokens: page.tokens, next: page.cursor };
}

export interface ExpiringOptions {
  within?: string;
  limit?: string;
  cursor?: string;
}

/** Every user's tokens whose hard limit is within `within` ms, or (with `page`) one page of them. */
export interface ExpiringRequest {
  within: number;
  page?: { limit?: number; cursor: string | null };
}

export function parseExpiringOptions(options: ExpiringOptions): ExpiringRequest {
  if (options.within === undefined) throw new UsageError('missing --within <duration>, e.g. 7d');
  const within = parseDurationOption(options.within, '--within');
  if (options.limit === undefined && options.cursor === undefined) return { within };
  return { within, page: parsePageOptions(options, parseExpiringCursor) };
}

/**
 * Every user's live tokens whose hard limit is within the window, soonest first: all of them (read
 * page by page), or the one page asked for, with the cursor of the next. For a job that tells
 * owners before their tokens expire (docs/expiry-notices.md).
 */
export async function listExpiringTokens(
  tokens: TokenService,
  request: ExpiringRequest,
): Promise<{ tokens: TokenInfo[]; next: string | null }> {
  if (request.page !== undefined) {
    const page = await tokens.listExpiring({ within: request.within, ...request.page });
    return { tokens: page.tokens, next: page.cursor };
  }
  const found: TokenInfo[] = [];
  let cursor: string | null = null;
  do {
    const page: TokenInfoPage = await tokens.listExpiring({
      within: request.within,
      cursor,
      limit: BATCH_SIZE,
    });
    found.push(...page.tokens);
    cursor = page.cursor;
  } while (cursor !== null);
  return { tokens: found, next: null };
}

export function parseTokenId(text: string): string {
  if (isTokenId(text)) return text;
  // Whoever pastes the whole token where its id belongs must not see it echoed: a longer text is
  // never repeated back.
  if (text.length > 16) {
    throw new UsageError(
      'invalid token id: expected the 16 hex characters shown by list, not the token itself',
    );
  }
  throw new UsageError(
    `invalid token id ${JSON.stringify(text)}: expected the 16 hex characters shown by list`,
  );
}

export interface RotateRequest {
  id: string;
  /** ms the old token keeps working; 0 = it stops at once. */
  overlap: number;
}

export function parseRotateOptions(idText: string, options: { overlap?: string }): RotateRequest {
  const id = parseTokenId(idText);
  if (options.overlap === undefined || options.overlap === '0') return { id, overlap: 0 };
  return { id, overlap: parseDurationOption(options.overlap, '--overlap') };
}

/** Replaces a token by one with the same owner, label, scopes and hard limit. */
export async function rotateToken(tokens: TokenService, request: RotateRequest): Promise<IssuedToken> {
  const fresh = await tokens.rotate(request.id, { overlap: request.overlap });
  if (fresh === null)
    throw new CommandFailure(`no token with id ${request.id} (unknown, expired or revoked)`);
  return fresh;
}

/** Reads a token without refreshing it, even a sliding one. */
export async function inspectToken(tokens: TokenService, id: string): Promise<TokenInfo> {
  const info = await tokens.inspect(id);
  if (info === null) throw new CommandFailure(`no token with id ${id} (unknown, expired or revoked)`);
  return info;
}

export interface RevokeOptions {
  ids: string[];
  user?: string;
  all?: boolean;
}

export type RevokeRequest = { kind: 'ids'; ids: string[] } | { kind: 'user'; user: string };

export function parseRevokeOptions(options: RevokeOptions): RevokeRequest {
  const byUser = options.user !== undefined || options.all === true;
  if (options.ids.length > 0 && byUser) {
    throw new UsageError('give token ids or --user <login> --all, not both');
  }
  if (options.ids.length > 0) return { kind: 'ids', ids: [...new Set(options.ids.map(parseTokenId))] };
  if (options.user === undefined && options.all !== true) {
    throw new UsageError('nothing to revoke: give token ids, or --user <login> --all');
  }
  if (options.all !== true) throw new UsageError('--user needs --all to revoke every token of that user');
  return { kind: 'user', user: requireUser(options.user, '--all needs -u, --user <login>') };
}

export type RevokeResult =
  | { kind: 'ids'; revoked: string[]; unknown: string[] }
  | { kind: 'user'; user: string; count: number };

/** Revokes every id it can, then reports the unknown ones: one typo does not spare the other tokens. */
export async function revokeTokens(tokens: TokenService, request: RevokeRequest): Promise<RevokeResult> {
  if (request.kind === 'user') {
    return { kind: 'user', user: request.user, count: await tokens.revokeAll(request.user) };
  }
  const revoked: string[] = [];
  const unknown: string[] = [];
  for (const id of request.ids) {
    ((await tokens.revoke(id)) ? revoked : unknown).push(id);
  }
  return { kind: 'ids', revoked, unknown };
}

function requireUser(user: string | undefined, problem = 'missing -u, --user <login>'): string {
  if (user === undefined) throw new UsageError(problem);
  if (user.trim() === '') throw new UsageError('-u, --user must not be empty');
  return user;
}

function parseDurationOption(text: string, flag: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    if (errorCode(error) !== 'ERR_INVALID_DURATION') throw error;
    throw new UsageError(`invalid duration ${quoteInput(text)} for ${flag}: expected ${ACCEPTED_DURATION}`);
  }
}

/** `-s a -s b,c` → [a, b, c], each parsed by the core's grammar and normalised (`wr` → `rw`). */
function parseScopeOptions(values: readonly string[]): string[] {
  const scopes = values.flatMap((value) => value.split(',')).map((text) => text.trim());
  const normalised = scopes.map((text) => {
    try {
      return normaliseScope(text);
    } catch (error) {
      if (errorCode(error) !== 'ERR_INVALID_SCOPE') throw error;
      throw new UsageError(`invalid scope ${quoteInput(text)} for -s, --scope: expected ${SCOPE_FORM}`);
    }
  });
  return [...new Set(normalised)];
}
