/**
 * A stand-in for the tfchain client that `@threefold/rmb_direct_client` keeps in `Client.tfclient` (an
 * `@threefold/tfchain_client` `Client`), answering its twin look-ups from one of our registries, so the official
 * client runs against a local relay with no chain and no network access beyond 127.0.0.1.
 *
 * What the official client (2.9.2, `dist/node/client.js`, `envelope.js`, `util.js`) calls on it, and what the stub
 * does:
 * - `connect()` / `disconnect()` (in `Client.connect`, `disconnect` and on every received frame): nothing.
 * - `twins.getTwinIdByAccountId({ accountId })` (its own twin, by SS58 address, in `Client.connect`): the id from
 *   the registry, `0` when unknown (as the chain answers).
 * - `twins.get({ id })` (its own twin in `connect`; the destination in `send`; the sender of an answer in
 *   `ClientEnvelope.verify`, via `util.getTwin`): the twin as the chain's `toPrimitive()` gives it — `accountId` as
 *   an SS58 address, `relay` as the `_`-joined domains, `pk` as `0x` + hex — or `null` when unknown.
 * - `twins.update({ pk, relay })` (in `connect`, whenever the chain's `relay` differs from the relay URL minus a
 *   `wss://` prefix and the first `/`; with a `ws://` URL it always differs): recorded, not applied — the real one
 *   submits an `updateTwin` extrinsic.
 *
 * It is installed by replacing `tfclient` right after the constructor (which only builds the chain client; the
 * chain connection is opened lazily by `connect()`), before `connect()` is called.
 */
import { DEFAULT_SS58_PREFIX, ss58Decode, ss58Encode } from "../../src/identity/index.js";
import type { TwinRegistry } from "../../src/registry/index.js";

/** A twin as `@threefold/tfchain_client` `twins.get` returns it (the chain's `Twin` via `toPrimitive()`). */
export interface ChainTwin {
  id: number;
  accountId: string;
  relay: string | null;
  entities: string[];
  pk: string | null;
}

/** How often each chain call was made. */
export interface ChainStubCalls {
  connect: number;
  get: number;
  getTwinIdByAccountId: number;
  update: number;
}

export class ChainStub {
  readonly calls: ChainStubCalls = { connect: 0, get: 0, getTwinIdByAccountId: 0, update: 0 };
  /** Every `twins.update` asked for (never applied). */
  readonly updates: { pk: string; relay: string }[] = [];
  readonly twins: {
    get(options: { id: number }): Promise<ChainTwin | null>;
    getTwinIdByAccountId(options: { accountId: string }): Promise<number>;
    update(options: { pk: string; relay: string }): Promise<{ apply(): Promise<void> }>;
  };
  readonly #registry: TwinRegistry;

  constructor(registry: TwinRegistry) {
    this.#registry = registry;
    this.twins = {
      get: async ({ id }) => {
        this.calls.get++;
        const twin = await this.#registry.getTwin(id);
        if (twin === undefined) return null;
        return {
          id: twin.id,
          accountId: ss58Encode(twin.accountId, DEFAULT_SS58_PREFIX),
          relay: twin.relays === undefined ? null : twin.relays.join("_"),
          entities: [],
          pk: twin.pk === undefined ? null : `0x${Buffer.from(twin.pk).toString("hex")}`,
        };
      },
      getTwinIdByAccountId: async ({ accountId }) => {
        this.calls.getTwinIdByAccountId++;
        return (await this.#registry.getTwinIdByAccount(ss58Decode(accountId).publicKey)) ?? 0;
      },
      update: async (options) => {
        this.calls.update++;
        this.updates.push({ pk: options.pk, relay: options.relay });
        return { apply: async () => undefined };
      },
    };
  }

  async connect(): Promise<void> {
    this.calls.connect++;
  }

  async disconnect(): Promise<void> {}
}

/** Replaces the chain client of an official `Client` (before its `connect()`) by a stub over `registry`. */
export function installChainStub(client: object, registry: TwinRegistry): ChainStub {
  const stub = new ChainStub(registry);
  (client as { tfclient: unknown }).tfclient = stub;
  return stub;
}
