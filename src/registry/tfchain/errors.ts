import { RmbError } from "../../errors.js";

/**
 * Bytes that are not valid SCALE for the expected type: truncated input, an invalid `Option` tag, a non-canonical
 * compact integer, a length above the type's bound, or bytes left over. SCALE decoders throw nothing else.
 */
export class ScaleDecodeError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_SCALE_DECODE", message, options);
  }
}

/** Why a call to a substrate node failed; see {@link SubstrateRpcError}. */
export const SubstrateRpcFailure = {
  /** The node answered the request with a JSON-RPC error (`rpcCode`, `data`). */
  Rpc: "rpc",
  /** No answer within the request timeout. */
  Timeout: "timeout",
  /** No node could be reached, the connection was lost, or the client is not started / closed. */
  Connection: "connection",
  /** The node sent something that is not the JSON-RPC answer expected (bad JSON, wrong result shape). */
  Protocol: "protocol",
  /** Too many requests are waiting (`maxPendingRequests`). */
  Overload: "overload",
} as const;
export type SubstrateRpcFailure = (typeof SubstrateRpcFailure)[keyof typeof SubstrateRpcFailure];

const RPC_CODES: Record<SubstrateRpcFailure, string> = {
  rpc: "RMB_ERR_SUBSTRATE_RPC",
  timeout: "RMB_ERR_SUBSTRATE_TIMEOUT",
  connection: "RMB_ERR_SUBSTRATE_CONNECTION",
  protocol: "RMB_ERR_SUBSTRATE_PROTOCOL",
  overload: "RMB_ERR_SUBSTRATE_OVERLOAD",
};

/**
 * A JSON-RPC call to a substrate node failed. `reason` says how; for `rpc`, `rpcCode` and `data` are the node's
 * error object (e.g. `1010` `Invalid Transaction` with `data` `Transaction has a bad signature`).
 */
export class SubstrateRpcError extends RmbError {
  readonly reason: SubstrateRpcFailure;
  /** The JSON-RPC method called, when the failure belongs to one call. */
  readonly method: string | undefined;
  /** The JSON-RPC error code (reason `rpc` only). */
  readonly rpcCode: number | undefined;
  /** The JSON-RPC error `data` (reason `rpc` only). */
  readonly data: unknown;

  constructor(
    reason: SubstrateRpcFailure,
    message: string,
    options?: { cause?: unknown; method?: string; rpcCode?: number; data?: unknown },
  ) {
    super(RPC_CODES[reason], message, options);
    this.reason = reason;
    this.method = options?.method;
    this.rpcCode = options?.rpcCode;
    this.data = options?.data;
  }
}

/**
 * A node's runtime metadata cannot be used to follow twin events: a version other than 14, a type id that is not
 * in its registry, or no `System.Events` / no `TwinStored`/`TwinUpdated` events of the tfgrid pallet. Malformed
 * metadata bytes are a {@link ScaleDecodeError} instead. The tfchain registry then follows twins through storage
 * subscriptions (see `TfchainRegistry.changeSource`).
 */
export class MetadataError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_SUBSTRATE_METADATA", message, options);
  }
}
