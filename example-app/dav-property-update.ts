import { createRequire } from 'node:module';
import type { v2 as webdav } from 'webdav-server';
import { deadPropertyLimitRefusal } from './dav-dead-property-limits';
import { writeDavRefusal } from './dav-refusal';
import { SerialByKey } from './serial-by-key';

interface XmlElement {
  type?: string;
  name?: string;
  elements?: XmlElement[];
  find(name: string): XmlElement;
}

// The XML parser webdav-server's own PROPPATCH uses, so that this check sees exactly the tree it will walk.
const { XML } = createRequire(require.resolve('webdav-server'))('xml-js-builder') as {
  XML: { parse(xml: Buffer): XmlElement };
};

const isElementNamed = (name: string) => (element: XmlElement | undefined) => element?.name === name;

/** A PROPPATCH body webdav-server can run: the properties it sets (the ones it stores). */
export interface PropertyUpdate {
  set: (XmlElement & { name: string })[];
}

/**
 * What is wrong with a PROPPATCH body, as [status, error], or the update if webdav-server can run it. 400
 * unless it is a `DAV:propertyupdate` whose every `set`/`remove` holds a `prop` with a list of properties:
 * webdav-server walks that shape without checking it, in callbacks where a missing element throws past every
 * handler and kills the process. 403 if it sets or removes a `DAV:` property: webdav-server refuses those
 * (they are protected, RFC 4918 15) and then undoes the rest of the request, and undoing a removal of a
 * property that did not exist throws the same way.
 */
export function parsePropertyUpdate(body: Buffer): PropertyUpdate | [400 | 403, string] {
  const malformed: [400, string] = [400, 'invalid_property_update'];
  let root: XmlElement;
  try {
    root = XML.parse(body).find('DAV:propertyupdate');
  } catch {
    return malformed;
  }
  if (!Array.isArray(root.elements)) return malformed;
  const updates = root.elements.filter(
    (element) => element?.name === 'DAV:set' || element?.name === 'DAV:remove',
  );
  if (updates.length === 0) return malformed;
  const update: PropertyUpdate = { set: [] };
  let setsProtected = false;
  for (const { name, elements } of updates) {
    const prop = Array.isArray(elements) ? elements.find(isElementNamed('DAV:prop')) : undefined;
    if (!Array.isArray(prop?.elements)) return malformed;
    for (const property of prop.elements) {
      if (property?.name?.startsWith('DAV:')) setsProtected = true;
      // Like webdav-server, which skips the text between the properties.
      if (name === 'DAV:set' && property?.type === 'element' && typeof property.name === 'string') {
        update.set.push(property as XmlElement & { name: string });
      }
    }
  }
  return setsProtected ? [403, 'protected_property'] : update;
}

/** The names of the dead properties the requested node has now, or null if webdav-server cannot say. */
function storedPropertyNames(
  ctx: webdav.HTTPRequestContext,
  callback: (names: string[] | null) => void,
): void {
  ctx.getResource((error, resource) => {
    if (error || !resource) return callback(null);
    resource.propertyManager((error, properties) => {
      if (error || !properties) return callback(null);
      // `true` hands over the stored bag itself rather than a copy: only its keys are read.
      properties.getProperties((error, bag) => callback(error || !bag ? null : Object.keys(bag)), true);
    });
  });
}

/**
 * Makes the server refuse a PROPPATCH that parsePropertyUpdate refuses, or that would take a node past the
 * dead-property limits (507 Insufficient Storage, RFC 4918 9.2.1), before the command runs and stores
 * anything. The PROPPATCH requests of one node run one at a time, so that two of them cannot both pass the
 * check against the same stored properties and together go past the limits.
 */
export function refuseUnsafePropertyUpdates(server: webdav.WebDAVServer): void {
  const proppatch = server.methods.proppatch!; // webdav-server keys its methods by lower-case name
  const perNode = new SerialByKey();
  server.method('PROPPATCH', {
    isValidFor: proppatch.isValidFor?.bind(proppatch),
    unchunked(ctx, data, callback) {
      const update = parsePropertyUpdate(data);
      if (Array.isArray(update)) {
        writeDavRefusal(ctx, ...update);
        return callback();
      }
      perNode.run(ctx.requested.path.toString(), (done) => {
        const finish = () => {
          done();
          callback();
        };
        storedPropertyNames(ctx, (names) => {
          // Unknown (no such node, say): the command meets the same error, answers it, and stores nothing.
          if (names === null) return proppatch.unchunked!(ctx, data, finish);
          const refusal = deadPropertyLimitRefusal(names, update.set);
          if (refusal === null) return proppatch.unchunked!(ctx, data, finish);
          writeDavRefusal(ctx, 507, refusal);
          finish();
        });
      });
    },
  });
}
