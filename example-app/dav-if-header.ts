/** One condition of an If header list: a state token (`<urn:uuid:…>`) or an entity tag (`["…"]`), maybe negated. */
export type IfCondition = { not: boolean } & ({ token: string } | { etag: string });

/** The lists of an If header that apply to one resource: its tag, or null for the request URI. */
export interface IfTaggedLists {
  resource: string | null;
  lists: IfCondition[][];
}

/** An If header that does not follow RFC 4918 10.4's grammar (answered with 400). */
export class MalformedIfHeaderError extends Error {
  readonly code = 'malformed_if_header';
  override name = this.constructor.name;
}

/**
 * Parses an If header (RFC 4918 10.4.2): untagged lists, `(<token> ["etag"]) (Not <DAV:no-lock>)`, or lists
 * each tagged with the resource they apply to, `<http://host/dav/a> (<token>)`. Throws
 * MalformedIfHeaderError for anything else, mixing the two forms included.
 */
export function parseIfHeader(header: string): IfTaggedLists[] {
  const groups: IfTaggedLists[] = [];
  let rest = header.trim();
  const fail = (): never => {
    throw new MalformedIfHeaderError('malformed If header');
  };
  const take = (pattern: RegExp): RegExpExecArray | null => {
    const match = pattern.exec(rest);
    if (match) rest = rest.slice(match[0].length).trimStart();
    return match;
  };
  while (rest !== '') {
    const tag = take(/^<([^<>\s]*)>/);
    if (tag) groups.push({ resource: tag[1]!, lists: [] });
    else if (groups.length === 0) groups.push({ resource: null, lists: [] });
    const group = groups.at(-1)!;
    if ((group.resource === null) !== (groups[0]!.resource === null)) fail();
    if (!take(/^\(/)) fail();
    const list: IfCondition[] = [];
    while (!take(/^\)/)) {
      const not = take(/^not(?=[\s<[])/i) !== null;
      const token = take(/^<([^<>\s]*)>/);
      const etag = token ? null : take(/^\[((?:W\/)?"[^"]*")\]/);
      if (token) list.push({ not, token: token[1]! });
      else if (etag) list.push({ not, etag: etag[1]! });
      else fail();
    }
    if (list.length === 0) fail();
    group.lists.push(list);
  }
  if (groups.length === 0 || groups.some((group) => group.lists.length === 0)) fail();
  return groups;
}

/** The lock tokens an If header submits (RFC 4918 10.4.1): every token it names, not negated. */
export function submittedTokens(groups: readonly IfTaggedLists[]): Set<string> {
  const tokens = new Set<string>();
  for (const { lists } of groups) {
    for (const list of lists) {
      for (const condition of list) if ('token' in condition && !condition.not) tokens.add(condition.token);
    }
  }
  return tokens;
}
