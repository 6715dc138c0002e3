/** What the request's target is now: its entity tag and modification time (ms), or null if nothing is there. */
export interface CurrentRepresentation {
  etag: string;
  lastModified: number;
  isFolder: boolean;
}

/** The conditional header fields of a request (RFC 9110 13.1), as received. */
export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

// Methods that make the target where nothing is (a LOCK of a free name creates an empty file); every other
// method answers 404 there, whatever the preconditions (RFC 9110 13.2.1: they apply only to what would
// otherwise succeed).
const CREATING_METHODS = new Set(['PUT', 'MKCOL', 'LOCK']);
/** The methods that read: a failed If-None-Match is a 304 for them, and they get the `ETag`. */
export const READ_METHODS = new Set(['GET', 'HEAD']);

/** An entity-tag list (RFC 9110 8.8.3, 13.1.1): `*`, or the tags it names (anything malformed names none). */
function entityTags(field: string): '*' | { weak: boolean; opaque: string }[] {
  if (field.trim() === '*') return '*';
  return [...field.matchAll(/(W\/)?("[^"]*")/g)].map((match) => ({
    weak: match[1] !== undefined,
    opaque: match[2]!,
  }));
}

/** Whether an If-Match list holds: `*` if anything is there, else a strong match (RFC 9110 13.1.1). */
function ifMatchHolds(field: string, current: CurrentRepresentation | null): boolean {
  const tags = entityTags(field);
  if (current === null) return false;
  if (tags === '*') return true;
  return tags.some((tag) => !tag.weak && tag.opaque === current.etag);
}

/** Whether an If-None-Match list holds: nothing there for `*`, else no weak match (RFC 9110 13.1.2). */
function ifNoneMatchHolds(field: string, current: CurrentRepresentation | null): boolean {
  const tags = entityTags(field);
  if (current === null) return true;
  if (tags === '*') return false;
  return !tags.some((tag) => tag.opaque === current.etag);
}

/** An HTTP-date in ms, or null if it is not one (the condition is then ignored, RFC 9110 13.1.3). */
function httpDate(field: string | undefined): number | null {
  if (field === undefined) return null;
  const time = Date.parse(field);
  return Number.isNaN(time) ? null : time;
}

/** Last-Modified has whole seconds: a time compares with a date as it would be sent. */
const toSeconds = (time: number) => Math.floor(time / 1000) * 1000;

/**
 * The answer the preconditions of a request call for, in RFC 9110 13.2.2's order: 412 if If-Match (or,
 * without it, If-Unmodified-Since) fails; if If-None-Match (or, for a read without it, If-Modified-Since)
 * fails, 304 for GET and HEAD and 412 for any other method; null if the request may go on. Conditions on
 * a target the method would answer 404 or 405 for are ignored, as RFC 9110 13.2.1 asks.
 */
export function preconditionOutcome(
  method: string,
  conditions: Preconditions,
  current: CurrentRepresentation | null,
): 304 | 412 | null {
  const reads = READ_METHODS.has(method);
  if (current === null && !CREATING_METHODS.has(method)) return null;
  if (current !== null && ((reads && current.isFolder) || method === 'MKCOL')) return null;
  if (conditions.ifMatch !== undefined) {
    if (!ifMatchHolds(conditions.ifMatch, current)) return 412;
  } else if (current !== null) {
    const since = httpDate(conditions.ifUnmodifiedSince);
    if (since !== null && toSeconds(current.lastModified) > since) return 412;
  }
  if (conditions.ifNoneMatch !== undefined) {
    if (!ifNoneMatchHolds(conditions.ifNoneMatch, current)) return reads ? 304 : 412;
  } else if (reads && current !== null) {
    const since = httpDate(conditions.ifModifiedSince);
    if (since !== null && toSeconds(current.lastModified) <= since) return 304;
  }
  return null;
}

/** Whether a request carries any precondition (most carry none, and need no look at the target for them). */
export function hasPreconditions(conditions: Preconditions): boolean {
  return Object.values(conditions).some((value) => value !== undefined);
}
