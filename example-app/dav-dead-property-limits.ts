/**
 * How much a client may keep in dead properties (RFC 4918 4.2: any property outside `DAV:` that a PROPPATCH
 * sets). They are kept in memory and sent in every PROPFIND that asks for all properties, so without these a
 * few large PROPPATCH requests would fill the process's memory and make each listing of the folder megabytes
 * long.
 */

/** The most bytes one dead property may take: its name, attributes and value, as parsed (see dav-xml.ts). */
export const MAX_DEAD_PROPERTY_BYTES = 4096;
/** The most dead properties one node may carry (so at most 32 × 4 KiB per node). */
export const MAX_DEAD_PROPERTIES_PER_NODE = 32;

/**
 * Whether a parsed XML element takes more than `limit` bytes: the UTF-8 bytes of every key and string in it
 * (names, namespaces, attributes, text, and the parser's own keys, which charge each nested element its
 * share, more than the namespace declaration it is written back with). Walked without recursion and left as soon as the limit is
 * passed, however deep or large the element.
 */
export function exceedsBytes(element: unknown, limit: number): boolean {
  let bytes = 0;
  const pending: unknown[] = [element];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') bytes += Buffer.byteLength(item);
    else if (typeof item === 'object' && item !== null) {
      for (const [key, value] of Object.entries(item)) {
        if (typeof value === 'function') continue; // the parser's helpers (find, findMany...), not data
        bytes += Buffer.byteLength(key);
        pending.push(value);
      }
    }
    if (bytes > limit) return true;
  }
  return false;
}

/**
 * Why a PROPPATCH that sets these properties on a node that already has `storedNames` must be refused, or null
 * if it fits. The count ignores the request's removals, so that it holds at every step of the request
 * whatever the order of its sets and removes.
 */
export function deadPropertyLimitRefusal(
  storedNames: readonly string[],
  set: readonly { name: string }[],
): 'property_too_large' | 'too_many_properties' | null {
  if (set.some((property) => exceedsBytes(property, MAX_DEAD_PROPERTY_BYTES))) return 'property_too_large';
  const names = new Set([...storedNames, ...set.map((property) => property.name)]);
  return names.size > MAX_DEAD_PROPERTIES_PER_NODE ? 'too_many_properties' : null;
}
