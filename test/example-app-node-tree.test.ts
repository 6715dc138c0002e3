import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DEMO_FILES } from '../example-app/demo-tree';
import { InvalidNodePathError, NodeTree } from '../example-app/node-tree';
import { freshDataDir } from './support/example-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('example-app node tree', () => {
  const dirs: string[] = [];
  const open = () => {
    const dir = freshDataDir();
    dirs.push(dir);
    return { dir, tree: NodeTree.open(dir) };
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('the demo tree is seeded and every file and folder, the root included, has a UUID', () => {
    const { tree } = open();
    for (const [path, content] of Object.entries(DEMO_FILES)) {
      const node = tree.nodeAt(path);
      assert.ok(node, path);
      assert.match(node.uuid, UUID);
      assert.deepEqual(
        { type: node.type, size: node.size },
        { type: 'file', size: Buffer.byteLength(content) },
      );
    }
    for (const path of ['/', '/docs', '/docs/reports', '/private']) {
      assert.equal(tree.nodeAt(path)?.type, 'folder', path);
      assert.equal(tree.nodeAt(path)?.size, null);
    }
    const all = ['/', '/docs', '/docs/reports', '/private', ...Object.keys(DEMO_FILES)].map(
      (path) => tree.nodeAt(path)!.uuid,
    );
    assert.equal(new Set(all).size, all.length, 'UUIDs are distinct');
  });

  test('paths are canonical, and . or .. segments are refused rather than resolved', () => {
    const { tree } = open();
    assert.equal(tree.nodeAt('docs//reports/')?.path, '/docs/reports');
    for (const bad of ['/docs/../private', '/./docs', '..', '/docs/a\\b', '/do\0cs']) {
      assert.throws(() => tree.nodeAt(bad), InvalidNodePathError, bad);
    }
  });

  test('UUIDs are stable across reopening (they live in nodes.json, outside the served files)', () => {
    const { dir, tree } = open();
    const before = tree.nodeAt('/docs/reports/q1.txt')!.uuid;
    const index = JSON.parse(readFileSync(join(dir, 'nodes.json'), 'utf8'));
    assert.equal(index.nodes[before], '/docs/reports/q1.txt');
    assert.equal(NodeTree.open(dir).nodeAt('/docs/reports/q1.txt')!.uuid, before);
  });

  test('a moved or renamed folder keeps its UUID, and so does everything below it', () => {
    const { tree } = open();
    const folder = tree.nodeAt('/docs/reports')!.uuid;
    const file = tree.nodeAt('/docs/reports/q1.txt')!.uuid;
    renameSync(tree.realPath('/docs/reports'), tree.realPath('/private/archive'));
    tree.moved('/docs/reports', '/private/archive');
    assert.equal(tree.nodeAt('/private/archive')!.uuid, folder);
    assert.equal(tree.nodeAt('/private/archive/q1.txt')!.uuid, file);
    assert.equal(tree.nodeById(file)!.path, '/private/archive/q1.txt');
    assert.equal(tree.nodeAt('/docs/reports'), null);
  });

  test('moving over an existing node: the mover keeps its UUID, the overwritten one is gone', () => {
    const { tree } = open();
    const readme = tree.nodeAt('/docs/readme.txt')!.uuid;
    const notes = tree.nodeAt('/private/notes.txt')!.uuid;
    renameSync(tree.realPath('/docs/readme.txt'), tree.realPath('/private/notes.txt'));
    tree.moved('/docs/readme.txt', '/private/notes.txt');
    assert.equal(tree.nodeAt('/private/notes.txt')!.uuid, readme);
    assert.equal(tree.nodeById(notes), null);
  });

  test("a deleted node's UUID is never handed to what is created later at the same path", () => {
    const { tree } = open();
    const old = tree.nodeAt('/docs/readme.txt')!.uuid;
    unlinkSync(tree.realPath('/docs/readme.txt'));
    tree.deleted('/docs/readme.txt');
    assert.equal(tree.nodeById(old), null);
    writeFileSync(tree.realPath('/docs/readme.txt'), 'new');
    const fresh = tree.nodeAt('/docs/readme.txt')!.uuid;
    assert.notEqual(fresh, old);
  });

  test('a node removed behind the app’s back loses its UUID at the next lookup', () => {
    const { tree } = open();
    const old = tree.nodeAt('/private/notes.txt')!.uuid;
    rmSync(tree.realPath('/private'), { recursive: true });
    assert.equal(tree.nodeById(old), null);
    mkdirSync(tree.realPath('/private'));
    writeFileSync(tree.realPath('/private/notes.txt'), 'x');
    assert.notEqual(tree.nodeAt('/private/notes.txt')!.uuid, old);
  });

  test('ancestors are the folders above a node, nearest first; none for the root or an unknown UUID', () => {
    const { tree } = open();
    const uuid = (path: string) => tree.nodeAt(path)!.uuid;
    assert.deepEqual(tree.ancestorsOf(uuid('/docs/reports/q1.txt')), [
      uuid('/docs/reports'),
      uuid('/docs'),
      uuid('/'),
    ]);
    assert.deepEqual(tree.ancestorsOf(uuid('/')), []);
    assert.deepEqual(tree.ancestorsOf('00000000-0000-4000-8000-000000000000'), []);
  });

  test('ancestors come from memory: no disk access per call, and they follow moves', () => {
    const { tree } = open();
    const file = tree.nodeAt('/docs/reports/q1.txt')!.uuid; // first sight of it: its folders get UUIDs too
    const expected = [tree.nodeAt('/docs/reports')!.uuid, tree.nodeAt('/docs')!.uuid, tree.nodeAt('/')!.uuid];
    // With the files out of reach, an answer can only come from the in-memory index.
    const away = `${tree.filesDir}.away`;
    renameSync(tree.filesDir, away);
    try {
      assert.deepEqual(tree.ancestorsOf(file), expected);
    } finally {
      renameSync(away, tree.filesDir);
    }
    mkdirSync(tree.realPath('/archive/2030'), { recursive: true });
    renameSync(tree.realPath('/docs/reports'), tree.realPath('/archive/2030/reports'));
    tree.moved('/docs/reports', '/archive/2030/reports');
    const archive = tree.nodeAt('/archive')!.uuid;
    assert.deepEqual(tree.ancestorsOf(file), [
      expected[0],
      tree.nodeAt('/archive/2030')!.uuid,
      archive,
      expected[2],
    ]);
  });

  test('a path below a file is no node (not an error); names too long for the disk are invalid', () => {
    const { tree } = open();
    assert.equal(tree.nodeAt('/docs/readme.txt/x'), null);
    assert.equal(tree.nearestNode('/docs/readme.txt/x/y').path, '/docs/readme.txt');
    assert.throws(() => tree.nodeAt(`/docs/${'a'.repeat(256)}`), InvalidNodePathError);
    assert.throws(() => tree.nodeAt(`/docs/${'é'.repeat(128)}`), InvalidNodePathError, '256 bytes in UTF-8');
    assert.throws(() => tree.nodeAt('/a'.repeat(1100)), InvalidNodePathError, 'a path over 2 KiB');
    assert.equal(tree.nodeAt(`/docs/${'a'.repeat(255)}`), null, 'the longest name the disk takes');
  });

  test('nearestNode climbs to the closest existing folder; children lists a folder', () => {
    const { tree } = open();
    assert.equal(tree.nearestNode('/docs/nope/deeper.txt').path, '/docs');
    assert.equal(tree.nearestNode('/nothing').path, '/');
    assert.deepEqual(
      tree.children(tree.nodeAt('/docs')!).map((child) => [child.path, child.type]),
      [
        ['/docs/readme.txt', 'file'],
        ['/docs/reports', 'folder'],
      ],
    );
  });
});
