import type { v2 as webdav } from 'webdav-server';
import { escapeXml } from './dav-xml';

/**
 * The dead properties of one node, kept in webdav-server's property manager (which travels with the node on
 * MOVE and COPY): by Clark name, `{namespace}local`, each value the property element as self-contained XML
 * text (see serializeElement), so that what a client set comes back with the same meaning.
 */
export class DeadProperties {
  private constructor(private readonly manager: webdav.IPropertyManager) {}

  /** The node's dead properties, or null if it does not exist. */
  static async of(resource: webdav.Resource): Promise<DeadProperties | null> {
    try {
      await resource.typeAsync(); // throws for a node that is not there
      return new DeadProperties(await resource.propertyManagerAsync());
    } catch {
      return null;
    }
  }

  /** Name → XML text of every dead property. */
  all(): Promise<Map<string, string>> {
    return new Promise((resolve, reject) =>
      this.manager.getProperties((error, bag) => {
        if (error) return reject(error);
        const properties = new Map<string, string>();
        for (const [name, { value }] of Object.entries(bag ?? {})) {
          if (name.startsWith('{') && typeof value === 'string') properties.set(name, value);
        }
        resolve(properties);
      }),
    );
  }

  set(name: string, xml: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.manager.setProperty(name, xml, {}, (error) => (error ? reject(error) : resolve())),
    );
  }

  remove(name: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.manager.removeProperty(name, (error) => (error ? reject(error) : resolve())),
    );
  }
}

/** An empty element of a property, from its Clark name: how a name is listed without its value. */
export function emptyPropertyElement(name: string): string {
  const end = name.lastIndexOf('}');
  const namespace = name.slice(1, end);
  const local = name.slice(end + 1);
  if (namespace === 'DAV:') return `<D:${local}/>`;
  return namespace === '' ? `<${local} xmlns=""/>` : `<e:${local} xmlns:e="${escapeXml(namespace)}"/>`;
}
