import type { Request } from 'express';
import type { v2 as webdav } from 'webdav-server';
import { runDavCommand } from './dav-async-command';
import { DeadProperties, emptyPropertyElement } from './dav-dead-properties';
import { activeLockXml } from './dav-lock-commands';
import type { DavLockTable } from './dav-locks';
import { davUrlPath } from './dav-paths';
import { writeDavRefusal } from './dav-refusal';
import { childElements, childNamed, escapeXml, parseXmlRoot } from './dav-xml';
import { writeDavXml } from './dav-xml-response';

// The most properties one PROPFIND may name: each missing one is answered for every node listed, so a
// 1 MiB body of names would otherwise make answers of hundreds of megabytes.
const MAX_REQUESTED_PROPERTIES = 256;

/** What a PROPFIND asks for (RFC 4918 14.20): every property, their names only, or the ones it lists. */
type PropfindRequest = { kind: 'allprop' } | { kind: 'propname' } | { kind: 'prop'; names: string[] };

/**
 * The request a PROPFIND body makes (an empty body is allprop), or null if it is no valid propfind or names
 * more than MAX_REQUESTED_PROPERTIES properties.
 */
function parsePropfind(body: Buffer): PropfindRequest | null {
  if (body.length === 0) return { kind: 'allprop' };
  const root = parseXmlRoot(body, '{DAV:}propfind');
  if (root === null) return null;
  if (childNamed(root, '{DAV:}propname')) return { kind: 'propname' };
  if (childNamed(root, '{DAV:}allprop')) return { kind: 'allprop' };
  const prop = childNamed(root, '{DAV:}prop');
  if (!prop) return null;
  const names = [...new Set(childElements(prop).map((element) => element.name))];
  return names.length > MAX_REQUESTED_PROPERTIES ? null : { kind: 'prop', names };
}

/** ISO 8601 in UTC, as `DAV:creationdate` wants (RFC 4918 15.1). */
const isoDate = (time: number) => new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The live properties of one node, by Clark name, as XML elements (values escaped). */
async function liveProperties(
  resource: webdav.Resource,
  path: string,
  isFolder: boolean,
  locks: DavLockTable,
  mountPath: string,
): Promise<Map<string, string>> {
  const element = (local: string, value: string) =>
    [`{DAV:}${local}`, `<D:${local}>${value}</D:${local}>`] as const;
  const lockdiscovery = locks
    .covering(path)
    .map((lock) => activeLockXml(lock, locks, mountPath))
    .join('');
  const live = new Map<string, string>([
    element('creationdate', isoDate(await resource.creationDateAsync())),
    element('displayname', escapeXml(path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1))),
    element('getlastmodified', new Date(await resource.lastModifiedDateAsync()).toUTCString()),
    element('getetag', escapeXml(await resource.etagAsync())),
    element('resourcetype', isFolder ? '<D:collection/>' : ''),
    element('lockdiscovery', lockdiscovery),
    element(
      'supportedlock',
      ['exclusive', 'shared']
        .map(
          (scope) =>
            `<D:lockentry><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>`,
        )
        .join(''),
    ),
  ]);
  if (!isFolder) {
    live.set(...element('getcontentlength', String(await resource.sizeAsync())));
    live.set(...element('getcontenttype', escapeXml(await resource.mimeTypeAsync())));
  }
  return live;
}

const propstat = (properties: string[], status: string) =>
  properties.length === 0
    ? ''
    : `<D:propstat><D:prop>${properties.join('')}</D:prop><D:status>HTTP/1.1 ${status}</D:status></D:propstat>`;

/** The `DAV:response` of one node. */
async function nodeResponse(
  resource: webdav.Resource,
  path: string,
  isFolder: boolean,
  request: PropfindRequest,
  options: PropfindOptions,
): Promise<string> {
  const live = await liveProperties(resource, path, isFolder, options.locks, options.mountPath);
  const dead = (await (await DeadProperties.of(resource))?.all()) ?? new Map<string, string>();
  const all = new Map([...live, ...dead]);
  let found: string[];
  let missing: string[] = [];
  if (request.kind === 'allprop') found = [...all.values()];
  else if (request.kind === 'propname') found = [...all.keys()].map(emptyPropertyElement);
  else {
    found = request.names.filter((name) => all.has(name)).map((name) => all.get(name)!);
    missing = request.names.filter((name) => !all.has(name)).map(emptyPropertyElement);
  }
  const href = davUrlPath(path, options.mountPath) + (isFolder && path !== '/' ? '/' : '');
  return (
    `<D:response><D:href>${escapeXml(href)}</D:href>` +
    propstat(found, '200 OK') +
    propstat(missing, '404 Not Found') +
    '</D:response>'
  );
}

export interface PropfindOptions {
  locks: DavLockTable;
  mountPath: string;
}

/**
 * PROPFIND (RFC 4918 9.1): 400 for a body that is not a well-formed propfind, 404 for a node that is not
 * there, else 207 with the node's properties (and, with `Depth: 1` or infinity, its descendants'), the ones
 * asked for and not found under 404. Dead properties come back as they were set, in their own namespaces.
 */
async function propfind(ctx: webdav.HTTPRequestContext, body: Buffer, options: PropfindOptions) {
  const request = parsePropfind(body);
  if (request === null) return writeDavRefusal(ctx, 400, 'invalid_propfind');
  const depth = ((ctx.request as Request).get('Depth') ?? 'infinity').toLowerCase();
  if (depth !== '0' && depth !== '1' && depth !== 'infinity')
    return writeDavRefusal(ctx, 400, 'invalid_depth');
  const responses: string[] = [];
  // Depth first, without recursion: [path, levels below it still to list].
  const pending: [string, number][] = [
    [ctx.requested.path.toString(), depth === 'infinity' ? Infinity : Number(depth)],
  ];
  while (pending.length > 0) {
    const [path, levels] = pending.pop()!;
    const resource = await ctx.server.getResourceAsync(ctx, path);
    let isFolder: boolean;
    try {
      isFolder = (await resource.typeAsync()).isDirectory;
    } catch {
      if (responses.length === 0) return writeDavRefusal(ctx, 404, 'not_found');
      continue; // removed while being listed
    }
    responses.push(await nodeResponse(resource, path, isFolder, request, options));
    if (!isFolder || levels === 0) continue;
    const children = (await resource.readDirAsync()).sort().reverse();
    for (const child of children) pending.push([`${path === '/' ? '' : path}/${child}`, levels - 1]);
  }
  writeDavXml(ctx, 207, `<D:multistatus xmlns:D="DAV:">${responses.join('')}</D:multistatus>`);
}

/** Replaces webdav-server's PROPFIND with the one above. */
export function usePropfind(server: webdav.WebDAVServer, options: PropfindOptions): void {
  server.method('PROPFIND', {
    unchunked: (ctx, data, callback) =>
      runDavCommand('PROPFIND', ctx, propfind(ctx, data, options), callback),
  });
}
