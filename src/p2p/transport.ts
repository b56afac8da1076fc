import type { RmbCaller } from "../sdk/api.js";
import { P2pRequestError, P2pTimeoutError } from "./errors.js";

/** Handles one command from another agent: `from` is the authenticated sender, `body` the parsed JSON body. */
export type AgentHandler = (from: number, body: unknown) => unknown | Promise<unknown>;

/**
 * How agents talk: request/response messages addressed by twin id, with JSON bodies. Over RMB every message is a
 * signed (and, when both twins have keys, encrypted) envelope, so `from` is authenticated; in the simulation it is
 * whatever the {@link SimNetwork} says.
 *
 * `request` rejects with `P2pTimeoutError` when no answer came within `timeoutMs` and with `P2pRequestError` for
 * every other failure.
 */
export interface AgentTransport {
  /** This agent's twin id. */
  readonly self: number;
  request(to: number, command: string, body: unknown, timeoutMs: number): Promise<unknown>;
  /** Answers `command` with `handler`; returns a function that stops serving it. */
  serve(command: string, handler: AgentHandler): () => void;
}

/**
 * An {@link AgentTransport} over the RMB SDK (`RmbClient` or `PeerClient`): a request is `call(to, command, body)`
 * with a JSON payload, a handler is `serve(command, …)`, and the sender is the envelope's source twin (verified by
 * the SDK). Commands are the agent protocol's `p2p.*` names.
 *
 * @example
 * const client = await RmbClient.connect({ identity, registry, relays: ["wss://relay.grid.tf"] });
 * const transport = new RmbAgentTransport(client, client.twinId);
 */
export class RmbAgentTransport implements AgentTransport {
  readonly self: number;
  readonly #caller: RmbCaller;

  constructor(caller: RmbCaller, self: number) {
    this.#caller = caller;
    this.self = self;
  }

  async request(to: number, command: string, body: unknown, timeoutMs: number): Promise<unknown> {
    try {
      const res = await this.#caller.call(to, command, body ?? null, {
        timeout: Math.max(1, Math.ceil(timeoutMs)),
      });
      return res.json();
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (code === "RMB_ERR_TIMEOUT") {
        throw new P2pTimeoutError(`twin ${to} did not answer ${command} within ${timeoutMs} ms`, {
          cause: err,
        });
      }
      throw new P2pRequestError(`${command} to twin ${to} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  serve(command: string, handler: AgentHandler): () => void {
    return this.#caller.serve(command, async (req) => {
      const result = await handler(req.source.twin, req.json());
      return result === undefined ? null : result;
    });
  }
}
