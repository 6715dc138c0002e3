// Dead properties (any PROPPATCH `set` outside `DAV:`): kept in memory and listed in every PROPFIND. The app
// caps their size and number per node and refuses, with 507 and nothing stored, a PROPPATCH that would go past
// either cap.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  deadPropertyLimitRefusal,
  exceedsBytes,
  MAX_DEAD_PROPERTIES_PER_NODE,
  MAX_DEAD_PROPERTY_BYTES,
} from '../example-app/dav-dead-property-limits';
import { SerialByKey } from '../example-app/serial-by-key';
import { type InProcessApp, startInProcess } from './support/example-app';

const NS = 'http://example.com/dead-properties/';

function propertyUpdate(set: Record<string, string>, remove: string[] = []): string {
  const props = (names: string[], value?: (name: string) => string) =>
    names.map((name) => (value ? `<Z:${name}>${value(name)}</Z:${name}>` : `<Z:${name}/>`)).join('');
  return (
    `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="${NS}">` +
    (Object.keys(set).length > 0
      ? `<D:set><D:prop>${props(Object.keys(set), (n) => set[n]!)}</D:prop></D:set>`
      : '') +
    (remove.length > 0 ? `<D:remove><D:prop>${props(remove)}</D:prop></D:remove>` : '') +
    '</D:propertyupdate>'
  );
}

const ALLPROP = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';

describe('example-app WebDAV dead-property limits', () => {
  let demo: InProcessApp;
  let server: Server;
  let admin: string;
  let baseUrl: string;

  const dav = async (method: string, path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${baseUrl}/dav${path}`, {
      method,
      headers: { Authorization: admin, 'Content-Type': 'application/xml', ...headers },
      body,
    });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  const proppatch = (path: string, set: Record<string, string>, remove: string[] = []) =>
    dav('PROPPATCH', path, propertyUpdate(set, remove));
  /** The dead properties of our namespace a PROPFIND allprop lists for the node, and that answer's length. */
  const deadProperties = async (path: string) => {
    const res = await dav('PROPFIND', path, ALLPROP, { Depth: '0' });
    assert.equal(res.status, 207);
    const names = [...res.text.matchAll(/<([\w-]+):([\w-]+) xmlns:\1="([^"]*)"/g)]
      .filter((match) => match[3] === NS)
      .map((match) => match[2]!);
    return { names: names.sort(), bytes: Buffer.byteLength(res.text) };
  };
  const newFile = async (name: string) => {
    const res = await fetch(`${baseUrl}/dav/docs/${name}`, {
      method: 'PUT',
      headers: { Authorization: admin },
      body: 'x',
    });
    assert.equal(res.status, 201);
    return `/docs/${name}`;
  };
  /**
   * PROPPATCH requests written at once on connections opened beforehand, so that the server reads them all in
   * one turn and checks them side by side; the status of each answer.
   */
  const simultaneousProppatch = async (path: string, bodies: string[]): Promise<number[]> => {
    const { port } = server.address() as AddressInfo;
    const raw = bodies.map(
      (body) =>
        `PROPPATCH /dav${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${admin}\r\n` +
        `Content-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
    const sockets = await Promise.all(
      raw.map(
        () =>
          new Promise<Socket>((resolve, reject) => {
            const socket = connect(port, '127.0.0.1', () => resolve(socket));
            socket.on('error', reject);
          }),
      ),
    );
    const answers = sockets.map(
      (socket) =>
        new Promise<number>((resolve) => {
          let text = '';
          socket.on('data', (chunk) => {
            text += chunk;
          });
          socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1])));
        }),
    );
    for (const [i, socket] of sockets.entries()) socket.write(raw[i]!);
    return Promise.all(answers);
  };
  const names = (count: number, from = 0) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${from + i}`, `value ${from + i}`]));

  before(async () => {
    demo = startInProcess();
    admin = demo.basic('admin', (await demo.tokens.issue({ user: 'admin', expiresIn: '1h' })).token);
    server = demo.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    demo.close();
  });

  test('repeated large PROPPATCH requests are refused with 507 and leave the node as it was', async () => {
    const path = await newFile('large-properties.txt');
    assert.equal((await proppatch(path, { colour: 'blue' })).status, 207);
    const before = await deadProperties(path);
    assert.deepEqual(before.names, ['colour']);
    for (let i = 0; i < 20; i++) {
      // 300 KB each, under the 1 MiB body limit: the requests that filled the memory.
      const res = await proppatch(path, { [`p${i}`]: 'x'.repeat(300_000), small: 'kept?' });
      assert.equal(res.status, 507, `request ${i}`);
      assert.match(String(res.type), /^application\/json/);
      assert.deepEqual(JSON.parse(res.text), { error: 'property_too_large' });
    }
    assert.deepEqual(await deadProperties(path), before, 'nothing of any refused request was stored');
  });

  test('a node keeps at most 32 dead properties: past that, 507 and nothing stored', async () => {
    const path = await newFile('many-properties.txt');
    const value = 'v'.repeat(MAX_DEAD_PROPERTY_BYTES - 200); // near the size cap, under it
    for (let i = 0; i < MAX_DEAD_PROPERTIES_PER_NODE; i++) {
      assert.equal((await proppatch(path, { [`p${i}`]: value })).status, 207, `property ${i}`);
    }
    for (let i = MAX_DEAD_PROPERTIES_PER_NODE; i < 150; i++) {
      const res = await proppatch(path, { [`p${i}`]: value });
      assert.equal(res.status, 507, `property ${i}`);
      assert.deepEqual(JSON.parse(res.text), { error: 'too_many_properties' });
    }
    const stored = await deadProperties(path);
    assert.equal(stored.names.length, MAX_DEAD_PROPERTIES_PER_NODE);
    // What a PROPFIND of the node can grow to is bounded by the caps (plus the live properties' few hundred bytes).
    assert.ok(
      stored.bytes < MAX_DEAD_PROPERTIES_PER_NODE * MAX_DEAD_PROPERTY_BYTES + 4096,
      String(stored.bytes),
    );
    // At the cap, a stored property can still be replaced, and a removal frees a place for the next request.
    assert.equal((await proppatch(path, { p0: 'replaced' })).status, 207);
    assert.equal((await proppatch(path, {}, ['p1'])).status, 207);
    assert.equal((await proppatch(path, { p200: 'new' })).status, 207);
    assert.equal((await deadProperties(path)).names.length, MAX_DEAD_PROPERTIES_PER_NODE);
  });

  test('one request adding more than the cap is refused whole', async () => {
    const path = await newFile('one-big-request.txt');
    const res = await proppatch(path, names(MAX_DEAD_PROPERTIES_PER_NODE + 1));
    assert.equal(res.status, 507);
    assert.deepEqual((await deadProperties(path)).names, []);
    assert.equal((await proppatch(path, names(MAX_DEAD_PROPERTIES_PER_NODE))).status, 207);
  });

  test('concurrent PROPPATCH requests on one node cannot together pass the cap', async () => {
    const path = await newFile('concurrent-properties.txt');
    assert.equal((await proppatch(path, names(MAX_DEAD_PROPERTIES_PER_NODE - 1))).status, 207);
    // Room for one more: each of these would fit alone.
    const requests = 50;
    const bodies = Array.from({ length: requests }, (_, i) =>
      propertyUpdate(names(1, MAX_DEAD_PROPERTIES_PER_NODE + i)),
    );
    const statuses = await simultaneousProppatch(path, bodies);
    assert.deepEqual(statuses.sort(), [207, ...Array.from({ length: requests - 1 }, () => 507)]);
    assert.equal((await deadProperties(path)).names.length, MAX_DEAD_PROPERTIES_PER_NODE);
  });

  test('PROPFIND: a body that is not well-formed XML, or names over 256 properties, is refused with 400', async () => {
    const named = (count: number) =>
      `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:Z="${NS}"><D:prop>` +
      Array.from({ length: count }, (_, i) => `<Z:n${i}/>`).join('') +
      '</D:prop></D:propfind>';
    assert.equal((await dav('PROPFIND', '/docs/', named(256), { Depth: '1' })).status, 207);
    const tooMany = await dav('PROPFIND', '/docs/', named(257), { Depth: '1' });
    assert.equal(tooMany.status, 400);
    assert.deepEqual(JSON.parse(tooMany.text), { error: 'invalid_propfind' });
    for (const body of [
      '<D:propfind xmlns:D="DAV:"><D:prop>',
      '<D:propfind><D:allprop/></D:propfind>',
      '<x/>',
    ]) {
      assert.equal((await dav('PROPFIND', '/docs/', body, { Depth: '0' })).status, 400, body);
    }
  });

  test('the size of a property counts its name, attributes and nested elements, however deep', () => {
    const text = (value: string) => ({ type: 'text', text: value });
    const property = (value: unknown[], name = `${NS}p`) => ({
      type: 'element',
      name,
      attributes: {},
      elements: value,
    });
    assert.equal(exceedsBytes(property([text('a'.repeat(4000))]), MAX_DEAD_PROPERTY_BYTES), false);
    assert.equal(exceedsBytes(property([text('a'.repeat(4096))]), MAX_DEAD_PROPERTY_BYTES), true);
    assert.equal(exceedsBytes(property([], `${NS}${'n'.repeat(4096)}`), MAX_DEAD_PROPERTY_BYTES), true);
    assert.equal(
      exceedsBytes({ ...property([]), attributes: { a: 'b'.repeat(4096) } }, MAX_DEAD_PROPERTY_BYTES),
      true,
    );
    // 200,000 nested elements: no recursion to overflow, and an early answer.
    let deep: unknown = text('end');
    for (let i = 0; i < 200_000; i++) deep = property([deep]);
    assert.equal(exceedsBytes(deep, MAX_DEAD_PROPERTY_BYTES), true);
    // Many small elements add up too.
    assert.equal(
      exceedsBytes(property(Array.from({ length: 200 }, () => property([]))), MAX_DEAD_PROPERTY_BYTES),
      true,
    );
  });

  test('the count takes stored and requested names together, a name set twice once', () => {
    const set = (...list: string[]) => list.map((name) => ({ type: 'element', name, elements: [] }));
    const stored = Array.from({ length: 31 }, (_, i) => `${NS}p${i}`);
    assert.equal(deadPropertyLimitRefusal(stored, set(`${NS}new`, `${NS}new`)), null);
    assert.equal(deadPropertyLimitRefusal(stored, set(`${NS}p0`, `${NS}new`)), null);
    assert.equal(deadPropertyLimitRefusal(stored, set(`${NS}new`, `${NS}other`)), 'too_many_properties');
  });
});

describe('SerialByKey (one PROPPATCH per node at a time)', () => {
  test('runs the tasks of a key one after another, in order, and other keys meanwhile', async () => {
    const queue = new SerialByKey();
    const log: string[] = [];
    const finishers = new Map<string, () => void>();
    const task = (name: string) => (done: () => void) => {
      log.push(`start ${name}`);
      finishers.set(name, () => {
        log.push(`end ${name}`);
        done();
        done(); // a second call changes nothing
      });
    };
    queue.run('a', task('a1'));
    queue.run('a', task('a2'));
    queue.run('a', task('a3'));
    queue.run('b', task('b1'));
    assert.deepEqual(log, ['start a1', 'start b1'], 'a2 waits for a1; b1 does not');
    finishers.get('a1')!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      log.slice(2),
      ['end a1', 'start a2'],
      'a3 still waits: a1 finishing twice freed one place',
    );
    finishers.get('a2')!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(log.slice(4), ['end a2', 'start a3']);
  });
});
