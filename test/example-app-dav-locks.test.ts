// WebDAV locks as RFC 4918 has them, behind tokens: a write under a lock needs the lock's token, sent by the
// lock's own login; a lock ends when its timeout passes (on the app's injectable clock); shared locks and
// refreshes work; tokens without `w` can neither lock nor unlock. Plus the If-header and XML parsers.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import { MalformedIfHeaderError, parseIfHeader, submittedTokens } from '../example-app/dav-if-header';
import { DavLockTable, lockSeconds, MAX_LOCK_SECONDS, MAX_LOCKS_PER_LOGIN } from '../example-app/dav-locks';
import { MalformedXmlError, parseXml, serializeElement, type XmlElement } from '../example-app/dav-xml';
import { type InProcessApp, startInProcess } from './support/example-app';

const XML = '<?xml version="1.0" encoding="utf-8"?>';
const lockBody = (scope: 'exclusive' | 'shared', owner = '<D:href>mailto:admin@example.com</D:href>') =>
  `${XML}<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope>` +
  `<D:locktype><D:write/></D:locktype><D:owner>${owner}</D:owner></D:lockinfo>`;
const PROPPATCH_BODY =
  `${XML}<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example">` +
  '<D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>';

/** Pieces that If headers are made of, to build near-valid ones from. */
const IF_HEADER_PIECE = fc.constantFrom(
  ...[
    '(',
    ')',
    '<',
    '>',
    'Not ',
    '[',
    ']',
    '"',
    'W/',
    ' ',
    'urn:uuid:x',
    'DAV:no-lock',
    'http://h/dav/',
    '/dav/docs/',
  ],
);

describe('lock table, Timeout and If header (pure)', () => {
  test('Timeout: Second-N up to an hour, Infinite as an hour, the first usable entry, else 10 minutes', () => {
    assert.equal(lockSeconds('Second-2'), 2);
    assert.equal(lockSeconds('Infinite, Second-4100000000'), MAX_LOCK_SECONDS);
    assert.equal(lockSeconds('Second-99999999'), MAX_LOCK_SECONDS);
    assert.equal(lockSeconds('Bogus, Second-30'), 30);
    assert.equal(lockSeconds('Second-0'), 1);
    assert.equal(lockSeconds(undefined), 600);
    assert.equal(lockSeconds('Second--5'), 600);
  });

  test('a lock ends when its time is up, and a refresh counts from now', () => {
    const clock = { now: 0 };
    const locks = new DavLockTable({ now: () => clock.now });
    const lock = {
      root: '/a',
      depth: '0',
      scope: 'exclusive',
      login: 'u',
      ownerXml: '',
      timeoutSeconds: 2,
    } as const;
    const taken = locks.lock(lock);
    assert.ok(typeof taken === 'object');
    assert.equal(locks.lock(lock), 'conflict');
    clock.now = 1999;
    assert.equal(locks.get(taken.token), taken);
    locks.refresh(taken, 2);
    clock.now = 3998;
    assert.deepEqual(locks.covering('/a'), [taken]);
    clock.now = 3999;
    assert.equal(locks.get(taken.token), undefined);
    assert.deepEqual(locks.covering('/a'), []);
    assert.ok(typeof locks.lock(lock) === 'object', 'the path can be locked again');
  });

  test('depth infinity covers what is below; shared locks share, exclusive ones do not; a login holds a bounded number', () => {
    const locks = new DavLockTable();
    const base = { login: 'u', ownerXml: '', timeoutSeconds: 60 } as const;
    const folder = locks.lock({ ...base, root: '/f', depth: 'infinity', scope: 'shared' });
    assert.ok(typeof folder === 'object');
    assert.deepEqual(locks.covering('/f/x/y'), [folder]);
    assert.deepEqual(locks.covering('/fx'), []);
    assert.ok(typeof locks.lock({ ...base, root: '/f/x', depth: '0', scope: 'shared' }) === 'object');
    assert.equal(locks.lock({ ...base, root: '/f/x', depth: '0', scope: 'exclusive' }), 'conflict');
    assert.equal(locks.lock({ ...base, root: '/', depth: 'infinity', scope: 'exclusive' }), 'conflict');
    for (let i = locks.coveringOrBelow('/').length; i < MAX_LOCKS_PER_LOGIN; i++) {
      assert.ok(typeof locks.lock({ ...base, root: `/n${i}`, depth: '0', scope: 'exclusive' }) === 'object');
    }
    assert.equal(locks.lock({ ...base, root: '/one-more', depth: '0', scope: 'exclusive' }), 'too_many');
    assert.ok(
      typeof locks.lock({ ...base, login: 'v', root: '/one-more', depth: '0', scope: 'exclusive' }) ===
        'object',
    );
    locks.forgetBelow('/f');
    assert.deepEqual(locks.coveringOrBelow('/f'), []);
  });

  test('If headers: untagged and tagged lists, Not, entity tags; anything else is malformed', () => {
    assert.deepEqual(parseIfHeader('(<urn:uuid:a> ["e1"]) (Not <DAV:no-lock>)'), [
      {
        resource: null,
        lists: [
          [
            { not: false, token: 'urn:uuid:a' },
            { not: false, etag: '"e1"' },
          ],
          [{ not: true, token: 'DAV:no-lock' }],
        ],
      },
    ]);
    const tagged = parseIfHeader('<http://h/dav/a> (<urn:uuid:a>) <http://h/dav/b> (Not <urn:uuid:b>)');
    assert.deepEqual(
      tagged.map((group) => group.resource),
      ['http://h/dav/a', 'http://h/dav/b'],
    );
    assert.deepEqual([...submittedTokens(tagged)], ['urn:uuid:a']);
    for (const bad of [
      '',
      '()',
      '(<a>',
      '<urn:x>',
      '(<a>) <http://h/> (<b>)',
      '(foo)',
      '([unquoted])',
      '(Not)',
    ]) {
      assert.throws(() => parseIfHeader(bad), MalformedIfHeaderError, bad);
    }
  });

  test('property: any If header parses or is malformed, never anything else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(IF_HEADER_PIECE).map((parts) => parts.join('')),
        ),
        (header) => {
          try {
            parseIfHeader(header);
          } catch (error) {
            assert.ok(error instanceof MalformedIfHeaderError, String(error));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('property: a property element written back means the same (namespaces, attributes, text)', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
    const namespace = fc.constantFrom('', 'urn:x', 'http://example.com/neon/litmus/', 'http://a/b:c', 'DAV:');
    const text = fc
      .string({ unit: 'grapheme', maxLength: 20 })
      .map((s) => s.replace(/[^\t\n\u0020-\uD7FF\uE000-\uFFFD]/gu, ''));
    const element: fc.Arbitrary<XmlElement> = fc.letrec<{ element: XmlElement }>((tie) => ({
      element: fc
        .record({
          type: fc.constant('element' as const),
          namespace,
          local: name,
          attributes: fc.dictionary(name, fc.string({ maxLength: 8 }), { maxKeys: 2 }),
          elements: fc.array(
            fc.oneof(
              { depthSize: 'small' },
              text.map((t) => ({ type: 'text' as const, text: t })),
              tie('element'),
            ),
            { maxLength: 3 },
          ),
        })
        .map(
          (e): XmlElement => ({
            ...e,
            name: `{${e.namespace}}${e.local}`,
            attributes: Object.fromEntries(
              Object.entries(e.attributes).map(([local, value]) => [
                `{}${local}`,
                { namespace: '', local, value },
              ]),
            ),
            // Adjacent text nodes come back as one; empty ones not at all.
            elements: e.elements.filter((node) => node.type !== 'text' || node.text !== ''),
          }),
        ),
    })).element;
    const normalise = (node: XmlElement): unknown => {
      const merged: unknown[] = [];
      for (const child of node.elements) {
        const last = merged.at(-1) as { text?: string } | undefined;
        if (child.type === 'text' && typeof last?.text === 'string') last.text += child.text;
        else merged.push(child.type === 'text' ? { ...child } : normalise(child));
      }
      return { ...node, elements: merged };
    };
    fc.assert(
      fc.property(element, (original) => {
        assert.deepEqual(normalise(parseXml(serializeElement(original))), normalise(original));
      }),
      { numRuns: 500 },
    );
  });

  test('XML that is not well-formed or binds a prefix to no namespace, or has a DOCTYPE: malformed', () => {
    for (const bad of [
      '<a><b></a>',
      '<D:propfind xmlns:D="DAV:"><D:prop><bar:foo xmlns:bar=""/></D:prop></D:propfind>',
      '<x:a/>',
      '<!DOCTYPE a [<!ENTITY e "e">]><a>&e;</a>',
      '<a/><b/>',
      '',
    ]) {
      assert.throws(() => parseXml(bad), MalformedXmlError, bad);
    }
    assert.equal(parseXml('<a xmlns=""><b/></a>').name, '{}a');
  });
});

describe('example-app WebDAV locks, behind tokens', () => {
  let demo: InProcessApp;
  let admin: string;
  let alice: string;
  const token = async (login: string, ...scopes: string[]) =>
    demo.basic(login, (await demo.tokens.issue({ user: login, expiresIn: '24h', scopes })).token);
  const dav = () => request(demo.app);
  const lock = (
    path: string,
    auth: string,
    headers: Record<string, string> = {},
    body = lockBody('exclusive'),
  ) => {
    let req = dav().lock(path).set('Authorization', auth).set('Content-Type', 'application/xml');
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    return req.send(body);
  };
  const lockToken = (res: request.Response) => {
    const header = String(res.headers['lock-token']);
    assert.match(header, /^<urn:uuid:[0-9a-f-]{36}>$/);
    return header.slice(1, -1);
  };
  /** PUT of a file: 201 if it is new, 200 if it replaced one. */
  const put = (path: string, auth: string, ifHeader?: string) => {
    const req = dav().put(path).set('Authorization', auth);
    return (ifHeader ? req.set('If', ifHeader) : req).send('changed');
  };
  const lockdiscovery = async (path: string) =>
    (
      await dav()
        .propfind(path)
        .set('Authorization', admin)
        .set('Depth', '0')
        .set('Content-Type', 'application/xml')
        .send(`${XML}<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>`)
        .expect(207)
    ).text;

  before(async () => {
    demo = startInProcess();
    admin = await token('admin');
    alice = await token('alice');
  });
  after(() => demo.close());

  test("without the lock token, even the lock's own login is refused (423); with it, the write goes through", async () => {
    assert.equal((await put('/dav/docs/owned.txt', admin)).status, 201);
    const locked = await lock('/dav/docs/owned.txt', admin).expect(200);
    const held = lockToken(locked);
    assert.match(locked.text, /<D:lockscope><D:exclusive\/><\/D:lockscope>/);
    assert.match(
      locked.text,
      /<D:owner><e:href xmlns:e="DAV:">mailto:admin@example.com<\/e:href><\/D:owner>/,
    );

    assert.equal((await put('/dav/docs/owned.txt', admin)).status, 423);
    assert.equal((await dav().delete('/dav/docs/owned.txt').set('Authorization', admin)).status, 423);
    const move = dav().move('/dav/docs/owned.txt').set('Destination', '/dav/docs/elsewhere.txt');
    assert.equal((await move.set('Authorization', admin)).status, 423);
    const proppatch = dav().proppatch('/dav/docs/owned.txt').set('Content-Type', 'application/xml');
    assert.equal((await proppatch.set('Authorization', admin).send(PROPPATCH_BODY)).status, 423);
    assert.equal((await lock('/dav/docs/owned.txt', admin)).status, 423, 'a second lock');
    assert.equal(readFileSync(demo.nodes.realPath('/docs/owned.txt'), 'utf8'), 'changed');
    assert.ok(existsSync(demo.nodes.realPath('/docs/owned.txt')));

    // A token that is no lock's, or a corrupt one: the If header does not hold (412).
    assert.equal(
      (await put('/dav/docs/owned.txt', admin, '(<urn:uuid:00000000-0000-4000-8000-000000000000>)')).status,
      412,
    );
    assert.equal((await put('/dav/docs/owned.txt', admin, '(<garbage')).status, 400);

    assert.equal((await put('/dav/docs/owned.txt', admin, `(<${held}>)`)).status, 200);
    assert.equal((await put('/dav/docs/owned.txt', admin, `(<${held}>) (Not <DAV:no-lock>)`)).status, 200);
    await dav()
      .unlock('/dav/docs/owned.txt')
      .set('Authorization', admin)
      .set('Lock-Token', `<${held}>`)
      .expect(204);
    assert.equal((await put('/dav/docs/owned.txt', admin)).status, 200);
  });

  // The If headers of litmus' cond_put, fail_cond_put, complex_cond_put and fail_complex_cond_put, with the
  // tag of PROPFIND's getetag (litmus takes it from a HEAD's ETag header: the same value).
  test("an If header's entity tag is checked beside the lock token: the node's own passes, another is 412", async () => {
    const path = '/dav/docs/tagged.txt';
    const write = (body: string, ifHeader: string) =>
      dav().put(path).set('Authorization', admin).set('If', ifHeader).send(body);
    const etag = async () => {
      const res = await dav()
        .propfind(path)
        .set('Authorization', admin)
        .set('Depth', '0')
        .set('Content-Type', 'application/xml')
        .send(`${XML}<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`)
        .expect(207);
      const tag = /<D:getetag>([^<]+)<\/D:getetag>/.exec(res.text)?.[1]?.replaceAll('&quot;', '"');
      assert.match(tag ?? '', /^"[^"]+"$/, res.text);
      return tag!;
    };
    // Another tag of the same form: one character before the closing quote changed, as litmus does.
    const other = (tag: string) => `${tag.slice(0, -3)}${tag.at(-3) === '0' ? '1' : '0'}${tag.slice(-2)}`;
    const content = () => readFileSync(demo.nodes.realPath('/docs/tagged.txt'), 'utf8');

    assert.equal((await put(path, admin)).status, 201);
    const held = lockToken(await lock(path, admin).expect(200));

    assert.equal((await write('first', `(<${held}> [${await etag()}])`)).status, 200);
    assert.equal(content(), 'first');
    const tag = await etag();
    assert.equal((await write('refused', `(<${held}> [${other(tag)}])`)).status, 412);
    assert.equal(content(), 'first');
    assert.equal(await etag(), tag, 'a refused PUT leaves the node as it was');

    const both = await etag();
    assert.equal((await write('second', `(<${held}> [${both}]) (Not <DAV:no-lock> [${both}])`)).status, 200);
    assert.equal(content(), 'second');
    const wrong = other(await etag());
    assert.equal(
      (await write('refused', `(<${held}> [${wrong}]) (Not <DAV:no-lock> [${wrong}])`)).status,
      412,
    );
    assert.equal(content(), 'second');

    await dav().unlock(path).set('Authorization', admin).set('Lock-Token', `<${held}>`).expect(204);
  });

  test("another user's token gets 423 on a locked file and cannot use, refresh or remove its lock", async () => {
    assert.equal((await put('/dav/docs/admins.txt', admin)).status, 201);
    const held = lockToken(await lock('/dav/docs/admins.txt', admin).expect(200));
    assert.equal((await put('/dav/docs/admins.txt', alice)).status, 423);
    assert.equal((await put('/dav/docs/admins.txt', alice, `(<${held}>)`)).status, 423, "with admin's token");
    assert.equal(
      (await dav().delete('/dav/docs/admins.txt').set('Authorization', alice).set('If', `(<${held}>)`))
        .status,
      423,
    );
    assert.equal((await lock('/dav/docs/admins.txt', alice)).status, 423);
    const refresh = dav().lock('/dav/docs/admins.txt').set('Authorization', alice).set('If', `(<${held}>)`);
    assert.equal((await refresh).status, 412, 'no lock of its own to refresh');
    const unlock = dav()
      .unlock('/dav/docs/admins.txt')
      .set('Authorization', alice)
      .set('Lock-Token', `<${held}>`);
    assert.equal((await unlock).status, 403);
    assert.match(await lockdiscovery('/dav/docs/admins.txt'), new RegExp(held));
    await dav()
      .unlock('/dav/docs/admins.txt')
      .set('Authorization', admin)
      .set('Lock-Token', `<${held}>`)
      .expect(204);
  });

  test('a read-only token cannot LOCK, UNLOCK or PROPPATCH (403), whoever holds the lock', async () => {
    const readOnly = await token('admin', `node:${demo.uuidOf('/')}:r`);
    assert.equal((await put('/dav/docs/ro.txt', admin)).status, 201);
    const held = lockToken(await lock('/dav/docs/ro.txt', admin).expect(200));
    for (const res of [
      await lock('/dav/docs/readme.txt', readOnly),
      await dav().unlock('/dav/docs/ro.txt').set('Authorization', readOnly).set('Lock-Token', `<${held}>`),
      await dav().lock('/dav/docs/ro.txt').set('Authorization', readOnly).set('If', `(<${held}>)`),
      await dav()
        .proppatch('/dav/docs/ro.txt')
        .set('Authorization', readOnly)
        .set('If', `(<${held}>)`)
        .set('Content-Type', 'application/xml')
        .send(PROPPATCH_BODY),
    ]) {
      assert.equal(res.status, 403);
      assert.deepEqual(JSON.parse(res.text), { error: 'insufficient_scope' });
    }
    assert.match(await lockdiscovery('/dav/docs/ro.txt'), new RegExp(held), 'the lock is still there');
  });

  test("a lock's Timeout is honoured: after it, others may write; Infinite is held to an hour", async () => {
    assert.equal((await put('/dav/docs/brief.txt', admin)).status, 201);
    const held = lockToken(await lock('/dav/docs/brief.txt', admin, { Timeout: 'Second-2' }).expect(200));
    assert.match(await lockdiscovery('/dav/docs/brief.txt'), /<D:timeout>Second-2<\/D:timeout>/);
    assert.equal((await put('/dav/docs/brief.txt', alice)).status, 423);
    demo.clock.now += 3000;
    assert.doesNotMatch(await lockdiscovery('/dav/docs/brief.txt'), /activelock/);
    assert.equal((await put('/dav/docs/brief.txt', alice)).status, 200);
    assert.equal(
      (await put('/dav/docs/brief.txt', admin, `(<${held}>)`)).status,
      412,
      'the old token is void',
    );

    const long = await lock('/dav/docs/brief.txt', admin, { Timeout: 'Infinite' }).expect(200);
    assert.match(long.text, /<D:timeout>Second-3600<\/D:timeout>/);
    demo.clock.now += 3600 * 1000;
    assert.equal((await put('/dav/docs/brief.txt', alice)).status, 200);
  });

  test('shared locks, a refresh, and an indirect refresh of a folder lock through a member', async () => {
    assert.equal((await put('/dav/docs/shared.txt', admin)).status, 201);
    const first = lockToken(await lock('/dav/docs/shared.txt', admin, {}, lockBody('shared')).expect(200));
    const second = lockToken(await lock('/dav/docs/shared.txt', admin, {}, lockBody('shared')).expect(200));
    assert.equal((await lock('/dav/docs/shared.txt', admin)).status, 423, 'no exclusive lock beside them');
    assert.equal((await put('/dav/docs/shared.txt', admin)).status, 423);
    assert.equal((await put('/dav/docs/shared.txt', admin, `(<${second}>)`)).status, 200);
    const discovered = await lockdiscovery('/dav/docs/shared.txt');
    assert.ok(discovered.includes(first) && discovered.includes(second));

    await dav().mkcol('/dav/docs/locked-folder').set('Authorization', admin).expect(201);
    const folder = await lock('/dav/docs/locked-folder/', admin, { Timeout: 'Second-100' }).expect(200);
    const folderToken = lockToken(folder);
    assert.match(folder.text, /<D:depth>infinity<\/D:depth>/);
    assert.equal((await put('/dav/docs/locked-folder/new.txt', admin)).status, 423, 'a new member');
    assert.equal((await put('/dav/docs/locked-folder/new.txt', admin, `(<${folderToken}>)`)).status, 201);
    demo.clock.now += 90_000;
    const refreshed = await dav()
      .lock('/dav/docs/locked-folder/new.txt')
      .set('Authorization', admin)
      .set('If', `(<${folderToken}>)`)
      .set('Timeout', 'Second-100')
      .expect(200);
    assert.match(refreshed.text, /<D:timeout>Second-100<\/D:timeout>/);
    assert.match(refreshed.text, /<D:lockroot><D:href>\/dav\/docs\/locked-folder<\/D:href><\/D:lockroot>/);
    demo.clock.now += 90_000;
    assert.equal(
      (await put('/dav/docs/locked-folder/new.txt', alice)).status,
      423,
      'still locked after the refresh',
    );
    const unlock = dav().unlock('/dav/docs/locked-folder/new.txt').set('Lock-Token', `<${folderToken}>`);
    await unlock.set('Authorization', admin).expect(204);
    assert.equal((await put('/dav/docs/locked-folder/new.txt', alice)).status, 200);
  });

  test('an If header tagged with a node the request does not name is not looked at (no probing outside scopes)', async () => {
    const docsOnly = await token('admin', `node:${demo.uuidOf('/docs')}:rw`);
    const held = lockToken(await lock('/dav/private/notes.txt', admin).expect(200));
    // Would hold if evaluated on /private/notes.txt: it is ignored, so no list holds.
    const probe = `</dav/private/notes.txt> (<${held}>)`;
    assert.equal((await put('/dav/docs/probe.txt', docsOnly, probe)).status, 412);
    const own = `</dav/docs/probe.txt> (Not <DAV:no-lock>)`;
    assert.equal(
      (await put('/dav/docs/probe.txt', docsOnly, own)).status,
      201,
      'a tag naming the target counts',
    );
    await dav()
      .unlock('/dav/private/notes.txt')
      .set('Authorization', admin)
      .set('Lock-Token', `<${held}>`)
      .expect(204);
  });

  test('LOCK of a path with nothing there makes an empty file (201); below a missing folder, 409', async () => {
    const res = await lock('/dav/docs/unmapped.txt', admin).expect(201);
    lockToken(res);
    assert.equal(readFileSync(demo.nodes.realPath('/docs/unmapped.txt'), 'utf8'), '');
    assert.equal((await lock('/dav/nowhere/unmapped.txt', admin)).status, 409);
    // In a folder another login holds a shared lock on, making a member needs that lock's token.
    await dav().mkcol('/dav/docs/shared-folder').set('Authorization', admin).expect(201);
    const folder = lockToken(
      await lock('/dav/docs/shared-folder', admin, {}, lockBody('shared')).expect(200),
    );
    assert.equal((await lock('/dav/docs/shared-folder/new.txt', alice, {}, lockBody('shared'))).status, 423);
    assert.ok(!existsSync(demo.nodes.realPath('/docs/shared-folder/new.txt')));
    await lock('/dav/docs/shared-folder/new.txt', admin, { If: `(<${folder}>)` }, lockBody('shared')).expect(
      201,
    );
    assert.ok(!existsSync(demo.nodes.realPath('/nowhere')));
  });

  test('deleting or moving a locked node with its token ends its locks', async () => {
    assert.equal((await put('/dav/docs/going.txt', admin)).status, 201);
    const held = lockToken(await lock('/dav/docs/going.txt', admin).expect(200));
    await dav()
      .move('/dav/docs/going.txt')
      .set('Authorization', admin)
      .set('Destination', '/dav/docs/gone.txt')
      .set('If', `(<${held}>)`)
      .expect(201);
    assert.equal((await put('/dav/docs/going.txt', alice)).status, 201, 'no lock stays at the old path');
    assert.equal((await put('/dav/docs/gone.txt', alice)).status, 200, 'nor travels with the node');
  });

  test('property: hostile LOCK, UNLOCK and If headers get a 4xx or a lock, never a 5xx, and the root stays', async () => {
    const header = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.array(IF_HEADER_PIECE, { maxLength: 12 }).map((p) => p.join('')),
    );
    const body = fc.oneof(
      fc.constant(lockBody('exclusive')),
      fc.constant(lockBody('shared', '<x:y xmlns:x="urn:x" a="b">text</x:y>')),
      fc.constant(''),
      fc.string({ maxLength: 60 }),
      fc.constant(
        `${XML}<D:lockinfo xmlns:D="DAV:"><D:lockscope/><D:locktype><D:read/></D:locktype></D:lockinfo>`,
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('LOCK', 'UNLOCK', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL'),
        // Not /dav/docs/ itself: a DELETE whose random If header happens to hold would remove the demo files.
        fc.constantFrom('/dav/docs/fuzz.txt', '/dav/docs/fuzz/', '/dav/docs/fuzz/x.txt', '/dav/nothing/x'),
        header,
        body,
        fc.constantFrom('0', 'infinity', '1', 'banana'),
        async (method, path, ifOrToken, payload, depth) => {
          const res = await dav()
            [method.toLowerCase() as 'lock'](path)
            .set('Authorization', admin)
            .set(method === 'UNLOCK' ? 'Lock-Token' : 'If', ifOrToken)
            .set('Depth', depth)
            .set('Timeout', 'Second-1')
            .set('Content-Type', 'application/xml')
            .send(payload);
          assert.ok(res.status < 500, `${method} ${path} If=${ifOrToken} → ${res.status} ${res.text}`);
          demo.clock.now += 2000; // every lock the case took has ended before the next case
        },
      ),
      { numRuns: 300 },
    );
    await dav().propfind('/dav/').set('Authorization', admin).set('Depth', '1').expect(207);
    assert.ok(existsSync(demo.nodes.realPath('/docs/readme.txt')));
  });
});
