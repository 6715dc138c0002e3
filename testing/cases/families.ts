import assert from 'node:assert/strict';
import { CallerNotLiveError } from '../../lib/errors';
import type { TokenInfo } from '../../lib/manage/token-info';
import { TokenService } from '../../lib/manage/token-service';
import type { StoredToken, TokenStore } from '../../lib/store';
import type { ConformanceCase } from '../harness';
import { SECOND } from '../harness';

const hasFamilies = (store: TokenStore) => typeof store.listDescendants === 'function';

/** The ids a store lists under an ancestor, sorted (a listing has no order). */
async function descendantsOf(store: TokenStore, ancestorId: string, limit = 1000): Promise<string[]> {
  return (await store.listDescendants!(ancestorId, limit)).sort();
}

/** `req.authInfo` as the middleware sets it for a request made with this token. */
export function callerOf(token: TokenInfo) {
  return {
    tokenId: token.id,
    login: token.user,
    scopes: token.scopes,
    expiresAt: token.expiresAt,
    hardExpiresAt: token.hardExpiresAt,
    autoRefresh: token.autoRefresh,
  };
}

/** Child tokens: ancestors recorded, the index of descendants, and the service's revocation of a family. */
export const familyCases: ConformanceCase[] = [
  {
    name: 'create keeps ancestorIds, and get returns them (none for a token no token made)',
    appliesTo: hasFamilies,
    async run(t) {
      const parent = t.record();
      const child = t.record({}, { ancestorIds: [parent.id] });
      const grandchild = t.record({}, { user: t.user(), ancestorIds: [child.id, parent.id] });
      await t.create(parent, child, grandchild);
      assert.deepEqual((await t.store.get(parent.id))?.ancestorIds ?? [], []);
      assert.deepEqual((await t.store.get(child.id))?.ancestorIds, [parent.id]);
      assert.deepEqual((await t.store.get(grandchild.id))?.ancestorIds, [child.id, parent.id]);
    },
  },
  {
    name: "listDescendants lists each ancestor's live descendants, whoever they belong to, up to the limit",
    appliesTo: hasFamilies,
    async run(t) {
      const parent = t.record();
      const children = Array.from({ length: 5 }, () => t.record({}, { ancestorIds: [parent.id] }));
      const grandchild = t.record({}, { user: t.user(), ancestorIds: [children[0]!.id, parent.id] });
      const stranger = t.record();
      await t.create(parent, ...children, grandchild, stranger);
      const all = [...children, grandchild].map((token) => token.id).sort();
      assert.deepEqual(await descendantsOf(t.store, parent.id), all);
      assert.deepEqual(await descendantsOf(t.store, children[0]!.id), [grandchild.id]);
      assert.deepEqual(await descendantsOf(t.store, stranger.id), []);
      assert.deepEqual(await descendantsOf(t.store, grandchild.id), []);
      const some = await t.store.listDescendants!(parent.id, 2);
      assert.equal(some.length, 2, 'no more than the limit, and no fewer while there are more');
      assert.ok(
        some.every((id) => all.includes(id)),
        'only descendants',
      );
    },
  },
  {
    name: 'from the moment get finds a descendant, listDescendants lists it (the index is written first)',
    appliesTo: hasFamilies,
    async run(t) {
      const parent = t.record();
      await t.create(parent);
      // One child at a time: a listing may drop the entry of a child whose record is not there yet
      // (see `TokenStore.listDescendants`), so another child's listing must not race this one's create.
      for (let i = 0; i < 20; i++) {
        const child = t.record({}, { ancestorIds: [parent.id] });
        const creating = t.store.create(child);
        let found: StoredToken | null = null;
        for (let reads = 0; found === null && reads < 10_000; reads++) found = await t.store.get(child.id);
        assert.ok(found, 'created');
        const listed = await t.store.listDescendants!(parent.id, 1000);
        assert.ok(listed.includes(child.id), `${child.id} is listed as soon as it exists`);
        assert.equal(await creating, 'created');
      }
    },
  },
  {
    name: 'an entry goes with its descendant (revoked or expired), not with its ancestor',
    appliesTo: hasFamilies,
    async run(t) {
      const parent = t.record({ hard: 1 * SECOND });
      const revoked = t.record({ hard: 60 * SECOND }, { ancestorIds: [parent.id] });
      const expiring = t.record({ hard: 1 * SECOND }, { ancestorIds: [parent.id] });
      const lasting = t.record({ window: 60 * SECOND, hard: null }, { ancestorIds: [parent.id] });
      const grandchild = t.record({ hard: 60 * SECOND }, { ancestorIds: [revoked.id, parent.id] });
      await t.create(parent, revoked, expiring, lasting, grandchild);
      assert.ok(await t.store.delete(revoked.id, t.now() + 60 * SECOND));
      assert.deepEqual(
        await descendantsOf(t.store, parent.id),
        [expiring.id, lasting.id, grandchild.id].sort(),
        'a revoked descendant is listed no more; its own descendant is',
      );
      assert.deepEqual(
        await descendantsOf(t.store, revoked.id),
        [grandchild.id],
        'a revoked ancestor still lists',
      );
      await t.advance(1300);
      assert.deepEqual(
        await descendantsOf(t.store, parent.id),
        [lasting.id, grandchild.id].sort(),
        'an expired descendant is listed no more, and an expired ancestor still lists the live ones',
      );
    },
  },
  {
    name: "revoking a token through the service revokes its family, and a revoked token's child is refused",
    appliesTo: hasFamilies,
    async run(t) {
      const tokens = new TokenService({ store: t.store, timeout: 10_000 });
      const owner = t.user();
      const root = await tokens.issue({ user: owner, expiresIn: '1h' });
      const sibling = await tokens.issue({ user: owner, expiresIn: '1h' });
      const child = await tokens.issueFor(callerOf(root), { expiresIn: '30m' });
      const grandchild = await tokens.issueFor(callerOf(child), { user: t.user(), expiresIn: '20m' });
      assert.equal(child.parentId, root.id);
      assert.equal(grandchild.parentId, child.id);
      assert.equal((await tokens.inspect(grandchild.id))?.parentId, child.id, 'inspect shows the parent');
      assert.equal(await tokens.revoke(child.id), true);
      assert.equal(await tokens.verify(child.token), null);
      assert.equal(await tokens.verify(grandchild.token), null, 'the grandchild went with the child');
      assert.ok(await tokens.verify(root.token), 'the parent stays');
      await assert.rejects(tokens.issueFor(callerOf(child), { expiresIn: '10m' }), CallerNotLiveError);
      const second = await tokens.issueFor(callerOf(root), { expiresIn: '30m' });
      assert.equal(await tokens.revoke(root.id), true);
      assert.equal(await tokens.verify(second.token), null);
      assert.ok(await tokens.verify(sibling.token), 'a token of the same user outside the family stays');
    },
  },
];
