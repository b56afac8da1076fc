import { RmbError } from "../errors.js";

/**
 * A call failed with an RMB error code: the remote peer or service answered an `Error` envelope (`source` = its
 * twin), a relay reported a routing failure (`source` = 0), or this client could not send it (`source` undefined,
 * e.g. 103 `unknown twin id '7'`). `wireCode` is the code of rmb-rs's table (0, 102–106, 255, 500, …).
 */
export class RmbCallError extends RmbError {
  readonly wireCode: number;
  /** Who reported the failure: a twin, 0 for a relay, `undefined` for this client. */
  readonly source: number | undefined;

  constructor(wireCode: number, message: string, source: number | undefined, options?: { cause?: unknown }) {
    super("RMB_ERR_CALL", message, options);
    this.wireCode = wireCode;
    this.source = source;
  }
}

/** No answer arrived within the call's timeout (the request's lifetime). */
export class RmbTimeoutError extends RmbError {
  constructor(message: string) {
    super("RMB_ERR_TIMEOUT", message);
  }
}

/** The client was closed (before or during the call). */
export class RmbClientClosedError extends RmbError {
  constructor(message = "the client is closed") {
    super("RMB_ERR_CLIENT_CLOSED", message);
  }
}

/**
 * Thrown by a handler to answer with a specific RMB error code; any other error a handler throws is answered with
 * code 255 (as the Go SDK's router does) and its message.
 */
export class RmbHandlerError extends RmbError {
  readonly wireCode: number;

  constructor(wireCode: number, message: string) {
    super("RMB_ERR_HANDLER", message);
    this.wireCode = wireCode;
  }
}
