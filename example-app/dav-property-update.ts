import type { v2 as webdav } from 'webdav-server';
import { runDavCommand } from './dav-async-command';
import { DeadProperties, emptyPropertyElement } from './dav-dead-properties';
import { deadPropertyLimitRefusal } from './dav-dead-property-limits';
import { davUrlPath } from './dav-paths';
import { writeDavRefusal } from './dav-refusal';
import {
  childElements,
  childNamed,
  escapeXml,
  parseXmlRoot,
  serializeElement,
  type XmlElement,
} from './dav-xml';
import { writeDavXml } from './dav-xml-response';
import { SerialByKey } from './serial-by-key';

/** One instruction of a PROPPATCH, in document order: set a property to an element, or remove it. */
export type PropertyInstruction = { set: XmlElement } | { remove: string };

/**
 * The instructions of a PROPPATCH body (RFC 4918 14.19), or [status, error]. 400 unless it is a well-formed
 * `DAV:propertyupdate` whose every `set`/`remove` holds a `prop` with at least one property; 403 if it sets
 * or removes a `DAV:` property (all of those are live, protected ones here, RFC 4918 15), and then nothing
 * of the request is applied.
 */
export function parsePropertyUpdate(
  body: Buffer,
): PropertyInstruction[] | { status: 400 | 403; error: string } {
  const malformed = { status: 400 as const, error: 'invalid_property_update' };
  const root = parseXmlRoot(body, '{DAV:}propertyupdate');
  if (root === null) return malformed;
  const instructions: PropertyInstruction[] = [];
  let touchesProtected = false;
  for (const update of childElements(root)) {
    if (update.name !== '{DAV:}set' && update.name !== '{DAV:}remove') continue;
    const properties = childElements(childNamed(update, '{DAV:}prop') ?? update);
    if (!childNamed(update, '{DAV:}prop') || properties.length === 0) return malformed;
    for (const property of properties) {
      if (property.namespace === 'DAV:') touchesProtected = true;
      instructions.push(update.name === '{DAV:}set' ? { set: property } : { remove: property.name });
    }
  }
  if (instructions.length === 0) return malformed;
  return touchesProtected ? { status: 403, error: 'protected_property' } : instructions;
}

/**
 * PROPPATCH: refuses what parsePropertyUpdate refuses, and with 507 (RFC 4918 9.2.1) an update that would
 * take the node past the dead-property limits, before anything is stored; otherwise applies every
 * instruction in document order and answers 207 with each property's 200. The PROPPATCH requests of one
 * node run one at a time, so that two of them cannot both pass the limits against the same stored
 * properties and together go past them.
 */
async function proppatch(ctx: webdav.HTTPRequestContext, body: Buffer, mountPath: string) {
  const update = parsePropertyUpdate(body);
  if (!Array.isArray(update)) return writeDavRefusal(ctx, update.status, update.error);
  const properties = await DeadProperties.of(await ctx.getResourceAsync());
  if (properties === null) return writeDavRefusal(ctx, 404, 'not_found');
  const set = update.flatMap((instruction) => ('set' in instruction ? [instruction.set] : []));
  const refusal = deadPropertyLimitRefusal([...(await properties.all()).keys()], set);
  if (refusal !== null) return writeDavRefusal(ctx, 507, refusal);
  for (const instruction of update) {
    if ('set' in instruction) await properties.set(instruction.set.name, serializeElement(instruction.set));
    else await properties.remove(instruction.remove);
  }
  const names = [...new Set(update.map((i) => ('set' in i ? i.set.name : i.remove)))];
  writeDavXml(
    ctx,
    207,
    '<D:multistatus xmlns:D="DAV:"><D:response>' +
      `<D:href>${escapeXml(davUrlPath(ctx.requested.path.toString(), mountPath))}</D:href>` +
      `<D:propstat><D:prop>${names.map(emptyPropertyElement).join('')}</D:prop>` +
      '<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>',
  );
}

/** Replaces webdav-server's PROPPATCH with the one above. */
export function usePropertyUpdates(server: webdav.WebDAVServer, mountPath: string): void {
  const perNode = new SerialByKey();
  server.method('PROPPATCH', {
    unchunked(ctx, data, callback) {
      perNode.run(ctx.requested.path.toString(), (done) =>
        runDavCommand('PROPPATCH', ctx, proppatch(ctx, data, mountPath), () => {
          done();
          callback();
        }),
      );
    },
  });
}
