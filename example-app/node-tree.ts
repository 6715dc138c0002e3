import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

// Files live on disk under `<dataDir>/files`; their node UUIDs live in `<dataDir>/nodes.json`, outside the
// served tree so no client can read or overwrite the index through WebDAV.
export const FILES_DIR_NAME = 'files';
export const INDEX_FILE_NAME = 'nodes.json';

export type NodeType = 'file' | 'folder';

export interface NodeInfo {
  uuid: string;
  path: string; // canonical: '/', '/docs', '/docs/readme.txt'
  type: NodeType;
  size: number | null; // bytes for a file, null for a folder
}

export class InvalidNodePathError extends Error {
  constructor(path: string) {
    super(`invalid node path: ${JSON.stringify(path)}`);
    this.name = 'InvalidNodePathError';
  }
}

// Linux refuses longer names (ENAMETOOLONG); refusing them here makes them a 400, not a file system error.
const MAX_SEGMENT_BYTES = 255;
// Well under PATH_MAX (4096) once joined to the data folder's own path.
const MAX_PATH_BYTES = 2048;

/**
 * Splits a slash-separated path into segments; rejects `.`, `..`, NUL, backslashes and names too long for the
 * disk instead of resolving or passing them on. Empty segments (`//`) are dropped.
 */
export function pathSegments(path: string): string[] {
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new InvalidNodePathError(path);
  const segments = path.split('/').filter((segment) => segment !== '');
  for (const segment of segments) {
    if (
      segment === '.' ||
      segment === '..' ||
      segment.includes('\0') ||
      segment.includes('\\') ||
      Buffer.byteLength(segment) > MAX_SEGMENT_BYTES
    ) {
      throw new InvalidNodePathError(path);
    }
  }
  return segments;
}

export function canonicalPath(path: string): string {
  return '/' + pathSegments(path).join('/');
}

export function parentPath(path: string): string | null {
  if (path === '/') return null;
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/** Whether canonical `path` is `folder` or inside it. */
export function isSameOrBelow(path: string, folder: string): boolean {
  return path === folder || folder === '/' || path.startsWith(folder + '/');
}

/** The file system entry at realPath, or undefined if there is none (a file where a folder was expected included). */
function statIfThere(realPath: string): Stats | undefined {
  try {
    return statSync(realPath, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * Gives every file and folder under `<dataDir>/files` a stable UUID, kept in a sidecar index so that it
 * survives rename and move (like Cells' node UUIDs); scopes name these UUIDs, never paths.
 *
 * A path seen for the first time gets a fresh UUID. Moves and deletes done through the app must be reported
 * (`moved`, `deleted`: the WebDAV file system does it) so that a UUID follows its node and a deleted node's UUID
 * is never handed to whatever is created later at the same path. Changes made behind the app's back are
 * noticed lazily: a vanished path loses its UUID, a new one gets a new UUID.
 *
 * Lookups use synchronous file system calls: for a demo-sized tree they cost microseconds, and they keep the
 * index and the disk from interleaving with other requests between a check and an update.
 */
export class NodeTree {
  readonly filesDir: string;
  private readonly indexFile: string;
  private readonly uuidByPath = new Map<string, string>();
  private readonly pathByUuid = new Map<string, string>();

  private constructor(readonly dataDir: string) {
    this.filesDir = join(dataDir, FILES_DIR_NAME);
    this.indexFile = join(dataDir, INDEX_FILE_NAME);
  }

  /** Opens (creating if needed) the tree under dataDir. Synchronous: it runs once at startup. */
  static open(dataDir: string): NodeTree {
    const tree = new NodeTree(dataDir);
    mkdirSync(tree.filesDir, { recursive: true });
    if (existsSync(tree.indexFile)) {
      const index = JSON.parse(readFileSync(tree.indexFile, 'utf8')) as { nodes?: Record<string, string> };
      for (const [uuid, path] of Object.entries(index.nodes ?? {})) tree.remember(uuid, path);
    }
    tree.prune('/');
    for (const path of [...tree.uuidByPath.keys()]) tree.rememberAncestors(path);
    tree.save();
    tree.nodeAt('/'); // the root has a UUID too, so a scope can name it
    return tree;
  }

  realPath(path: string): string {
    return join(this.filesDir, ...pathSegments(path));
  }

  /** The node at a path, or null if nothing is there. Throws InvalidNodePathError for `..` and the like. */
  nodeAt(path: string): NodeInfo | null {
    const canonical = canonicalPath(path);
    const stat = statIfThere(this.realPath(canonical));
    if (!stat || !(stat.isFile() || stat.isDirectory())) {
      if (this.forget(canonical)) this.save();
      return null;
    }
    let uuid = this.uuidByPath.get(canonical);
    if (uuid === undefined) {
      uuid = randomUUID();
      this.remember(uuid, canonical);
      this.rememberAncestors(canonical);
      this.save();
    }
    const type: NodeType = stat.isDirectory() ? 'folder' : 'file';
    return { uuid, path: canonical, type, size: type === 'file' ? stat.size : null };
  }

  nodeById(uuid: string): NodeInfo | null {
    const path = this.pathByUuid.get(uuid);
    if (path === undefined) return null;
    const node = this.nodeAt(path);
    return node?.uuid === uuid ? node : null;
  }

  /** The existing node at path, or at its nearest existing ancestor (the root always exists). */
  nearestNode(path: string): NodeInfo {
    let current: string | null = canonicalPath(path);
    while (current !== null) {
      const node = this.nodeAt(current);
      if (node) return node;
      current = parentPath(current);
    }
    throw new Error(`data folder ${this.filesDir} is missing`);
  }

  /**
   * UUIDs of the folders above a node, nearest first; [] for the root or an unknown UUID. From the in-memory
   * index alone (kept in step by `moved` and `deleted`), in O(depth): the token router calls it for every
   * scope of every token it lists, so a disk access per call would stall every other request.
   */
  ancestorsOf(uuid: string): string[] {
    const path = this.pathByUuid.get(uuid);
    if (path === undefined) return [];
    const ancestors: string[] = [];
    for (let parent = parentPath(path); parent !== null; parent = parentPath(parent)) {
      const ancestor = this.uuidByPath.get(parent);
      if (ancestor !== undefined) ancestors.push(ancestor);
    }
    return ancestors;
  }

  /** The children of a folder, sorted by name ([] for a file). */
  children(node: NodeInfo): NodeInfo[] {
    if (node.type !== 'folder') return [];
    return readdirSync(this.realPath(node.path))
      .sort()
      .map((name) => this.nodeAt(node.path === '/' ? `/${name}` : `${node.path}/${name}`))
      .filter((child): child is NodeInfo => child !== null);
  }

  /** Call after a node moved from `from` to `to` on disk: it and everything below keep their UUIDs. */
  moved(from: string, to: string): void {
    const source = canonicalPath(from);
    const destination = canonicalPath(to);
    this.forget(destination); // whatever was overwritten there is gone
    const moving = [...this.uuidByPath].filter(([path]) => isSameOrBelow(path, source));
    for (const [path] of moving) this.forget(path);
    for (const [path, uuid] of moving) this.remember(uuid, destination + path.slice(source.length));
    this.rememberAncestors(destination);
    this.save();
  }

  /** Call after a delete was attempted: drops the UUIDs of whatever is no longer on disk at or below path. */
  deleted(path: string): void {
    if (this.prune(canonicalPath(path))) this.save();
  }

  private remember(uuid: string, path: string): void {
    this.uuidByPath.set(path, uuid);
    this.pathByUuid.set(uuid, path);
  }

  /**
   * Gives the folders above path a UUID where they have none (they exist: path does), so that every known
   * node's ancestors are known too and ancestorsOf can answer from memory alone.
   */
  private rememberAncestors(path: string): void {
    for (let parent = parentPath(path); parent !== null; parent = parentPath(parent)) {
      if (!this.uuidByPath.has(parent)) this.remember(randomUUID(), parent);
    }
  }

  /** Drops the UUIDs at and below path; true if there were any. */
  private forget(path: string): boolean {
    let changed = false;
    for (const [known, uuid] of [...this.uuidByPath]) {
      if (!isSameOrBelow(known, path)) continue;
      this.uuidByPath.delete(known);
      this.pathByUuid.delete(uuid);
      changed = true;
    }
    return changed;
  }

  /** Drops the UUIDs of paths at or below `path` that no longer exist on disk; true if there were any. */
  private prune(path: string): boolean {
    let changed = false;
    for (const known of [...this.uuidByPath.keys()]) {
      if (!isSameOrBelow(known, path) || existsSync(this.realPath(known))) continue;
      changed = this.forget(known) || changed;
    }
    return changed;
  }

  // Written synchronously through a temporary file and a rename: the index is small, one process owns it,
  // and a crash mid-write must not leave a truncated index (which would re-number every node).
  private save(): void {
    const nodes = Object.fromEntries([...this.pathByUuid].sort(([, a], [, b]) => a.localeCompare(b)));
    const temporary = `${this.indexFile}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify({ version: 1, nodes }, null, 2) + '\n');
    renameSync(temporary, this.indexFile);
  }
}
