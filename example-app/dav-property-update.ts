import { createRequire } from 'node:module';
import type { v2 as webdav } from 'webdav-server';

interface XmlElement {
  name?: string;
  elements?: XmlElement[];
  find(name: string): XmlElement;
}

// The XML parser webdav-server's own PROPPATCH uses, so that this check sees exactly the tree it will walk.
const { XML } = createRequire(require.resolve('webdav-server'))('xml-js-builder') as {
  XML: { parse(xml: Buffer): XmlElement };
};

const isElementNamed = (name: string) => (element: XmlElement | undefined) => element?.name === name;

/**
 * What is wrong with a PROPPATCH body, as a status, or null if webdav-server can run it. 400 unless it is a
 * `DAV:propertyupdate` whose every `set`/`remove` holds a `prop` with a list of properties: webdav-server
 * walks that shape without checking it, in callbacks where a missing element throws past every handler and
 * kills the process. 403 if it sets or removes a `DAV:` property: webdav-server refuses those (they are
 * protected, RFC 4918 15) and then undoes the rest of the request, and undoing a removal of a property that
 * did not exist throws the same way.
 */
export function propertyUpdateRefusal(body: Buffer): 400 | 403 | null {
  let root: XmlElement;
  try {
    root = XML.parse(body).find('DAV:propertyupdate');
  } catch {
    return 400;
  }
  if (!Array.isArray(root.elements)) return 400;
  const updates = root.elements.filter(
    (element) => element?.name === 'DAV:set' || element?.name === 'DAV:remove',
  );
  if (updates.length === 0) return 400;
  const properties: XmlElement[] = [];
  for (const update of updates) {
    const prop = Array.isArray(update.elements)
      ? update.elements.find(isElementNamed('DAV:prop'))
      : undefined;
    if (!Array.isArray(prop?.elements)) return 400;
    properties.push(...prop.elements);
  }
  return properties.some((property) => property?.name?.startsWith('DAV:')) ? 403 : null;
}

/** Makes the server refuse a PROPPATCH that propertyUpdateRefusal refuses, before the command runs. */
export function refuseUnsafePropertyUpdates(server: webdav.WebDAVServer): void {
  const proppatch = server.methods.proppatch!; // webdav-server keys its methods by lower-case name
  server.method('PROPPATCH', {
    isValidFor: proppatch.isValidFor?.bind(proppatch),
    unchunked(ctx, data, callback) {
      const refusal = propertyUpdateRefusal(data);
      if (refusal === null) return proppatch.unchunked!(ctx, data, callback);
      ctx.setCode(refusal);
      callback();
    },
  });
}
