import { RmbError } from "../errors.js";
import type { WireErrorCode } from "../protocol/index.js";

/**
 * An item on the peer's Redis API is not a valid JSON message (bad JSON, a missing or mistyped field, bad base64).
 * The gateway answers it on the caller's reply queue when one can be identified and keeps serving.
 */
export class JsonMessageError extends RmbError {
  constructor(problem: string) {
    super("RMB_ERR_PEER_JSON", problem);
  }
}

/**
 * A step of the peer's envelope pipeline failed with one of rmb-rs's protocol error codes (102–106, 500, 0): the
 * text is what the sender receives (`unknown twin id '7'`, `invalid envelope signature: …`).
 */
export class PeerProtocolError extends RmbError {
  /** The code carried in an `Error` envelope or in the JSON `err.code`. */
  readonly wireCode: WireErrorCode;

  constructor(wireCode: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_PEER_PROTOCOL", message, options);
    this.wireCode = wireCode;
  }
}

/** The peer cannot start: no twin for its key, an unusable relay URL, the registry update refused. */
export class PeerStartError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_PEER_START", message, options);
  }
}
