import type { RelayPoolOptions } from "../peer/relay-pool.js";

/**
 * What the direct client needs from its relay connections. In Node this is `RelayPool` (the `ws` package); other
 * environments (a browser's standard `WebSocket`) can provide their own through `RmbClientOptions.transport`.
 */
export interface RelayTransport {
  /** Starts connecting (does not wait). */
  start(): void;
  /** Closes every connection; pending sends reject. */
  stop(): Promise<void>;
  /** Resolves once a connection is open; rejects after `timeoutMs`. */
  waitConnected(timeoutMs: number): Promise<void>;
  /** Sends one frame through one open connection; rejects when `deadline` (epoch ms) passes first. */
  send(bytes: Uint8Array, deadline: number): Promise<void>;
  /** Stops or restarts reading frames (backpressure). */
  pauseReading(paused: boolean): void;
  /** Connections open now. */
  readonly connectedCount: number;
}

/** Builds a transport from the pool options the client computed (relays, signer, twin, session, callbacks). */
export type RelayTransportFactory = (options: RelayPoolOptions) => RelayTransport;
