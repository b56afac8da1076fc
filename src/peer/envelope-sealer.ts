import type { E2eCipher } from "../crypto/index.js";
import { messageOf } from "../errors.js";
import type { Signer } from "../identity/index.js";
import {
  type Address,
  type Envelope,
  encodeEnvelope,
  signEnvelope,
  stamp,
  WireErrorCode,
} from "../protocol/index.js";
import type { Twin, TwinRegistry } from "../registry/index.js";
import { PeerProtocolError } from "./errors.js";

/** Looks a twin up, mapping "not found" to code 103 and a registry failure to code 500 (rmb-rs texts). */
export async function lookupTwin(registry: TwinRegistry, id: number): Promise<Twin> {
  let twin: Twin | undefined;
  try {
    twin = await registry.getTwin(id);
  } catch (cause) {
    throw new PeerProtocolError(
      WireErrorCode.Other,
      `other: failed to get twin information: ${messageOf(cause)}`,
      { cause },
    );
  }
  if (twin === undefined) throw new PeerProtocolError(WireErrorCode.UnknownTwin, `unknown twin id '${id}'`);
  return twin;
}

/**
 * The last step before an envelope leaves this peer (rmb-rs `Protocol::write`): encrypt the payload when the
 * destination twin has a key, set this twin as the source, stamp, check the lifetime, sign, encode.
 */
export class EnvelopeSealer {
  readonly #source: Address;
  readonly #signer: Signer;
  readonly #e2e: E2eCipher | undefined;
  readonly #registry: TwinRegistry;

  /**
   * @param source - this side's address: `{ twin }` for rmb-peer, `{ twin, connection: sid }` for a client session
   * @param e2e - this twin's end-to-end cipher; without one, payloads are sent plain
   */
  constructor(source: Address, signer: Signer, e2e: E2eCipher | undefined, registry: TwinRegistry) {
    this.#source = { ...source };
    this.#signer = signer;
    this.#e2e = e2e;
    this.#registry = registry;
  }

  /**
   * The wire bytes of `env` (which is changed in place). `now` is unix seconds. Throws `PeerProtocolError` with
   * code 103 (unknown destination), 500 (registry failure, expired before sending).
   */
  async seal(env: Envelope, now: number): Promise<Uint8Array> {
    const destination = env.destination;
    if (destination === undefined) {
      throw new PeerProtocolError(WireErrorCode.Other, "other: envelope has no destination");
    }
    const twin = await lookupTwin(this.#registry, destination.twin);
    if (twin.pk !== undefined && this.#e2e !== undefined) {
      const plain = env.payload?.kind === "plain" ? env.payload.data : new Uint8Array(0);
      try {
        env.payload = { kind: "cipher", data: this.#e2e.encryptFor(twin.pk, plain) };
      } catch (cause) {
        // rmb-rs sends the failure instead of the message, so the receiver learns why nothing came.
        delete env.payload;
        env.message = { kind: "error", code: WireErrorCode.E2e, message: `e2e error: ${messageOf(cause)}` };
      }
    }
    env.source = { ...this.#source };
    [env.timestamp, env.expiration] = stamp(now, env.timestamp, env.expiration);
    if (env.expiration <= 0) {
      throw new PeerProtocolError(WireErrorCode.Other, "other: message has expired before sending");
    }
    return encodeEnvelope(signEnvelope(env, this.#signer));
  }
}
