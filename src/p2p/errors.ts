import { RmbError } from "../errors.js";

/** A request to another agent got no answer within its timeout (lost, slow, or the agent is down). */
export class P2pTimeoutError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_P2P_TIMEOUT", message, options);
  }
}

/** A request to another agent failed for another reason than a timeout (the agent answered with an error, no such
 * command, transport closed, …). */
export class P2pRequestError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_P2P_REQUEST", message, options);
  }
}

/** An agent sent something malformed, forged or expired (a bad record, report or protocol message). */
export class P2pInvalidDataError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_P2P_INVALID_DATA", message, options);
  }
}

/** The agent is not running (`search` before `start()` or after `stop()`). */
export class P2pStoppedError extends RmbError {
  constructor(message = "the agent is not running") {
    super("RMB_ERR_P2P_STOPPED", message);
  }
}

/** True for a timeout of a request between agents (ours, or the SDK's `RMB_ERR_TIMEOUT`). */
export function isTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "RMB_ERR_P2P_TIMEOUT" || code === "RMB_ERR_TIMEOUT";
}
