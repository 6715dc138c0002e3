import { performance } from 'node:perf_hooks';
import { RevocationNotDurableError } from '../lib/errors';
import { checkOptions, optionNames } from '../lib/option-names';
import type { RedisTokenStoreClient } from './redis-client';

/** `RedisTokenStore`'s `durableRevocation` option, when not `false`. */
export interface DurableRevocationOptions {
  /**
   * How many replicas must have a revocation before it resolves. Default: every replica connected
   * to the master at the time (its `INFO replication`, read at most once a second); with none, a
   * revocation resolves as soon as the master has it.
   */
  replicas?: number;
  /** How long a revocation waits for them, in ms (`WAIT`'s timeout, and `WAITAOF`'s). Default 1000. */
  timeout?: number;
}

const OPTION_NAMES = optionNames<DurableRevocationOptions>({
  replicas: true,
  timeout: true,
});

export const DEFAULT_DURABILITY_TIMEOUT = 1000;

// The parts of an ioredis `Redis` and `Cluster` used here, described by shape rather than imported:
// the package's declarations then name no driver's, so a consumer compiles whatever ioredis release
// it has (and with none installed), and the app's client may come from any copy or major of ioredis.

/** One node's connection (a `Redis`). */
interface RedisNode {
  readonly isCluster?: false;
  readonly options: { host?: string; port?: number; commandTimeout?: number };
  info(): Promise<string>;
  wait(replicas: number, timeout: number): Promise<number>;
  call(command: string, ...args: string[]): Promise<unknown>;
  duplicate(override: Record<string, unknown>): this;
  once(event: 'end', listener: () => void): unknown;
  off(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  disconnect(): void;
}

/** A `Cluster`. */
interface ClusterClient {
  readonly isCluster: true;
  readonly options: { redisOptions?: { commandTimeout?: number } };
  /** Each slot's node addresses, its master's (`host:port`) first. */
  readonly slots: (string[] | undefined)[];
  cluster(subcommand: 'KEYSLOT', key: string): Promise<unknown>;
  nodes(role: 'master'): RedisNode[];
  duplicate(startupNodes: never[], override: Record<string, unknown>): this;
  once(event: 'end', listener: () => void): unknown;
  off(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  disconnect(): void;
}

/** A store's client that can confirm revocations. */
type ConfirmingClient = RedisTokenStoreClient & (RedisNode | ClusterClient);

// How long a node's replica count and persistence settings are trusted.
const PROBE_LIFE = 1000;
// How long the confirming connection stays open after the last revocation.
const IDLE_LIFE = 2000;

/** What a master's INFO says about making a write durable. */
interface Durability {
  replicas: number;
  /** Whether `WAITAOF` (Redis 7.2+) can confirm the write in the master's own append-only file. */
  aof: boolean;
}

/** What one `WAIT` (and `WAITAOF`) confirmed: every write its connection had sent before it. */
interface Confirmation {
  replicas: number;
  expected: number;
  aof: boolean;
}

interface NodeState {
  probe: Promise<Durability> | undefined;
  probedAt: number;
  /** The next confirmation, not yet sent: later writes on the connection join it. */
  next: Promise<Confirmation> | undefined;
}

/**
 * Makes the writes that take access away (revocations, hard limits brought forward) survive a
 * failover: replication is asynchronous, so a write the master acknowledged just before it died may
 * never reach the replica promoted in its place, and the token would work again.
 *
 * Such writes go through a connection of their own (a `duplicate()` of the app's client, with its
 * settings, closed when the app's client ends or after 2 s without revocations): `WAIT` confirms only the writes of the connection it
 * runs on, and blocks that connection until the replicas answer, which on the app's client would
 * hold every check queued behind it. Writes that end up on the same node at the same moment share
 * one `WAIT` (as `revokeAll`'s batches do). On a Cluster, it runs on the master of the key's slot.
 */
export class RevocationConfirmer {
  readonly timeout: number;
  readonly #replicas: number | undefined;
  readonly #client: ConfirmingClient;
  #connection: ConfirmingClient | undefined;
  #inFlight = 0;
  #idle: NodeJS.Timeout | undefined;
  readonly #nodes = new WeakMap<RedisNode, NodeState>();

  constructor(client: RedisTokenStoreClient, options: DurableRevocationOptions) {
    checkOptions('RedisTokenStore', options, OPTION_NAMES, 'durableRevocation');
    if (!canConfirm(client)) {
      throw new TypeError(
        'durableRevocation needs an ioredis Redis or Cluster client (duplicate, wait, info)',
      );
    }
    const { replicas, timeout = DEFAULT_DURABILITY_TIMEOUT } = options;
    if (replicas !== undefined && !(Number.isSafeInteger(replicas) && replicas >= 0)) {
      throw new TypeError('durableRevocation.replicas must be a whole number of replicas (0 or more)');
    }
    if (!(Number.isSafeInteger(timeout) && timeout > 0)) {
      throw new TypeError('durableRevocation.timeout must be a positive whole number of ms');
    }
    this.#client = client;
    this.#replicas = replicas;
    this.timeout = timeout;
  }

  /**
   * Runs `write` (a write that takes access away) on the confirming connection, then resolves with
   * its result once the writes sent so far on that connection to the node holding `key` are on the
   * replicas required (and in the master's append-only file, where it has one); rejects with
   * `RevocationNotDurableError` when they are not within `timeout`.
   */
  async run<T>(key: string, write: (connection: ConfirmingClient) => Promise<T>): Promise<T> {
    clearTimeout(this.#idle);
    this.#inFlight++;
    try {
      const connection = this.#open();
      const result = await write(connection);
      await this.#confirm(connection, key);
      return result;
    } finally {
      if (--this.#inFlight === 0) this.#idle = setTimeout(() => this.#close(), IDLE_LIFE).unref();
    }
  }

  #open(): ConfirmingClient {
    if (this.#connection) return this.#connection;
    const connection = duplicateFor(this.#client, this.timeout);
    // Its failures reach the commands that were sent on it; the app's client reports its own.
    connection.on('error', () => {});
    this.#client.once('end', this.#onClientEnd);
    this.#connection = connection;
    return connection;
  }

  // Closed with the app's client, or once idle: ioredis does not say 'end' for a client closed while
  // it was waiting to reconnect, and revocations are rare enough to open a connection for.
  readonly #onClientEnd = (): void => this.#close();

  #close(): void {
    clearTimeout(this.#idle);
    const connection = this.#connection;
    if (!connection || this.#inFlight > 0) return;
    this.#connection = undefined;
    this.#client.off('end', this.#onClientEnd);
    connection.disconnect();
  }

  async #confirm(connection: ConfirmingClient, key: string): Promise<void> {
    const node = await nodeOf(connection, key);
    let state = this.#nodes.get(node);
    if (!state) {
      state = { probe: undefined, probedAt: 0, next: undefined };
      this.#nodes.set(node, state);
    }
    const durability = await this.#durability(node, state);
    if (durability.replicas === 0 && !durability.aof) return;
    state.next ??= nextTurn().then(() => {
      state.next = undefined;
      return this.#waitFor(node, durability);
    });
    const confirmed = await state.next;
    if (confirmed.replicas < confirmed.expected) {
      throw new RevocationNotDurableError(
        `only ${confirmed.replicas} of ${confirmed.expected} replicas confirmed it within ${this.timeout} ms`,
      );
    }
    if (!confirmed.aof) {
      throw new RevocationNotDurableError(`its append-only file was not written within ${this.timeout} ms`);
    }
  }

  #durability(node: RedisNode, state: NodeState): Promise<Durability> {
    const now = performance.now();
    if (state.probe && now - state.probedAt < PROBE_LIFE) return state.probe;
    state.probedAt = now;
    const probe = node.info().then((info) => durabilityOf(info, this.#replicas));
    // A failed probe is not kept: the next revocation asks again.
    probe.catch(() => {
      if (state.probe === probe) state.probe = undefined;
    });
    state.probe = probe;
    return probe;
  }

  async #waitFor(node: RedisNode, durability: Durability): Promise<Confirmation> {
    const started = performance.now();
    const replicas = durability.replicas === 0 ? 0 : await node.wait(durability.replicas, this.timeout);
    let aof = true;
    if (durability.aof) {
      // The time left of the one timeout; WAITAOF's 0 would mean "for ever".
      const left = Math.max(1, Math.round(this.timeout - (performance.now() - started)));
      const [local] = (await node.call('WAITAOF', '1', '0', String(left))) as [number, number];
      aof = local >= 1;
    }
    return { replicas, expected: durability.replicas, aof };
  }
}

/**
 * The app's client again, with the same settings, except that it queues commands until connected
 * (it is opened for a revocation that waits for it) and that a command timeout it may set leaves
 * room for `WAIT`'s own.
 */
function duplicateFor(client: ConfirmingClient, timeout: number): ConfirmingClient {
  if (isCluster(client)) {
    const commandTimeout = client.options.redisOptions?.commandTimeout;
    const redisOptions = commandTimeout === undefined ? {} : { commandTimeout: commandTimeout + timeout };
    return client.duplicate([], { enableOfflineQueue: true, redisOptions });
  }
  const commandTimeout = client.options.commandTimeout;
  return client.duplicate({
    enableOfflineQueue: true,
    ...(commandTimeout === undefined ? {} : { commandTimeout: commandTimeout + timeout }),
  });
}

function durabilityOf(info: string, replicas: number | undefined): Durability {
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const [major = 0, minor = 0] = (field('redis_version') ?? '').split('.').map(Number);
  // WAITAOF exists from Redis 7.2; before, a master's AOF cannot be waited for.
  const waitaof = major > 7 || (major === 7 && minor >= 2);
  return {
    replicas: replicas ?? Number(field('connected_slaves') ?? 0),
    aof: waitaof && field('aof_enabled') === '1',
  };
}

/** After the writes of this turn of the event loop were sent, so that one `WAIT` covers them all. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The connection to the master of `key`'s slot: on a Cluster, one of its nodes. */
async function nodeOf(connection: ConfirmingClient, key: string): Promise<RedisNode> {
  if (!isCluster(connection)) return connection;
  const slot = Number(await connection.cluster('KEYSLOT', key));
  const address = connection.slots[slot]?.[0];
  const node = connection
    .nodes('master')
    .find((each) => `${each.options.host}:${each.options.port}` === address);
  if (!node) throw new Error(`no master is known for slot ${slot}`);
  return node;
}

/** Whether the app's client can confirm revocations: an ioredis `Redis` or `Cluster`, of any copy. */
export function canConfirm(client: RedisTokenStoreClient): client is ConfirmingClient {
  const methods = client as Partial<Record<'duplicate' | 'wait' | 'info' | 'once' | 'off', unknown>>;
  return (['duplicate', 'wait', 'info', 'once', 'off'] as const).every(
    (name) => typeof methods[name] === 'function',
  );
}

function isCluster(client: RedisNode | ClusterClient): client is ClusterClient {
  return client.isCluster === true;
}
