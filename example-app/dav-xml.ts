import { createRequire } from 'node:module';

/** An XML element with its namespace resolved: `name` is Clark notation, `{namespace}local`. */
export interface XmlElement {
  type: 'element';
  name: string;
  namespace: string;
  local: string;
  /** Attributes other than namespace declarations, by Clark name. */
  attributes: Record<string, { namespace: string; local: string; value: string }>;
  elements: XmlNode[];
}
export type XmlNode = XmlElement | { type: 'text'; text: string };

/** A body that is not well-formed, namespace-correct XML (RFC 4918 8.2: answered with 400). */
export class MalformedXmlError extends Error {
  readonly code = 'malformed_xml';
  override name = this.constructor.name;
}

interface SaxQualifiedName {
  name: string;
  prefix: string;
  local: string;
  uri: string;
  value: string;
}
interface SaxTag {
  name: string;
  local: string;
  uri: string;
  attributes: Record<string, SaxQualifiedName>;
}
interface SaxParser {
  onerror: (error: Error) => void;
  onopentag: (tag: SaxTag) => void;
  onclosetag: () => void;
  ontext: (text: string) => void;
  oncdata: (text: string) => void;
  ondoctype: () => void;
  write(text: string): SaxParser;
  close(): void;
}
// sax, the streaming parser webdav-server's stack already installs: strict, with namespaces resolved. It
// expands no entity but the five XML ones, and a DOCTYPE is refused below.
const sax = createRequire(require.resolve('webdav-server'))('sax') as {
  parser(strict: true, options: { xmlns: true; trim?: boolean }): SaxParser;
};

/** The name of an element or attribute in Clark notation, the form dead properties are kept under. */
export const clarkName = (namespace: string, local: string) => `{${namespace}}${local}`;

/**
 * Parses a request body into its root element, or throws MalformedXmlError: not well-formed, an unbound
 * prefix, a prefix declared as the empty namespace (not allowed in XML Namespaces 1.0), or a DOCTYPE.
 * Built without recursion on the caller's side, so the depth of the document costs only heap.
 */
export function parseXml(body: Buffer | string): XmlElement {
  const parser = sax.parser(true, { xmlns: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (reason: string): never => {
    throw new MalformedXmlError(reason);
  };
  parser.onerror = (error) => fail(error.message.split('\n', 1)[0]!);
  parser.ondoctype = () => fail('a DOCTYPE is not accepted');
  parser.onopentag = (tag) => {
    const element: XmlElement = {
      type: 'element',
      name: clarkName(tag.uri, tag.local),
      namespace: tag.uri,
      local: tag.local,
      attributes: {},
      elements: [],
    };
    for (const attribute of Object.values(tag.attributes)) {
      if (attribute.name.startsWith('xmlns:') && attribute.value === '')
        fail('a prefix bound to no namespace');
      if (attribute.name === 'xmlns' || attribute.prefix === 'xmlns') continue;
      element.attributes[clarkName(attribute.uri, attribute.local)] = {
        namespace: attribute.uri,
        local: attribute.local,
        value: attribute.value,
      };
    }
    const parent = stack.at(-1);
    if (parent) parent.elements.push(element);
    else if (root) fail('more than one root element');
    else root = element;
    stack.push(element);
  };
  parser.onclosetag = () => void stack.pop();
  const addText = (text: string) => {
    const parent = stack.at(-1);
    if (parent) parent.elements.push({ type: 'text', text });
  };
  parser.ontext = addText;
  parser.oncdata = addText;
  parser.write(typeof body === 'string' ? body : body.toString('utf8')).close();
  return root ?? fail('no root element');
}

/** The root element of a request body if it is well-formed XML and the root has this Clark name, else null. */
export function parseXmlRoot(body: Buffer, name: string): XmlElement | null {
  try {
    const root = parseXml(body);
    return root.name === name ? root : null;
  } catch (error) {
    if (error instanceof MalformedXmlError) return null;
    throw error;
  }
}

/** The child elements of an element (text between them dropped). */
export const childElements = (element: XmlElement): XmlElement[] =>
  element.elements.filter((node): node is XmlElement => node.type === 'element');

/** The first child element with this Clark name, if any. */
export const childNamed = (element: XmlElement, name: string): XmlElement | undefined =>
  childElements(element).find((child) => child.name === name);

// The namespace of `xml:lang` and `xml:space`, bound to the prefix `xml` in every document (and only to it).
const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
/** Text or an attribute value, escaped for XML. */
export const escapeXml = (text: string) => text.replace(/[&<>"]/g, (c) => ESCAPES[c]!);

/**
 * An element as XML text that means the same wherever it is put: every element and attribute carries its
 * own namespace declaration (prefixes are generated, so none of the request's can clash with the answer's),
 * and an element in no namespace says so (`xmlns=""`). Written without recursion.
 */
export function serializeElement(element: XmlElement): string {
  let out = '';
  const pending: (XmlNode | { type: 'close'; tag: string })[] = [element];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (node.type === 'text') out += escapeXml(node.text);
    else if (node.type === 'close') out += `</${node.tag}>`;
    else {
      const tag = node.namespace === '' ? node.local : `e:${node.local}`;
      out += `<${tag}${node.namespace === '' ? ' xmlns=""' : ` xmlns:e="${escapeXml(node.namespace)}"`}`;
      let index = 0;
      for (const attribute of Object.values(node.attributes)) {
        const value = escapeXml(attribute.value);
        if (attribute.namespace === '') out += ` ${attribute.local}="${value}"`;
        else if (attribute.namespace === XML_NAMESPACE) out += ` xml:${attribute.local}="${value}"`;
        else {
          const prefix = `a${index++}`;
          out += ` xmlns:${prefix}="${escapeXml(attribute.namespace)}" ${prefix}:${attribute.local}="${value}"`;
        }
      }
      out += '>';
      pending.push({ type: 'close', tag });
      for (let i = node.elements.length - 1; i >= 0; i--) pending.push(node.elements[i]!);
    }
  }
  return out;
}
