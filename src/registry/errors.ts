import { RmbError } from "../errors.js";

/** A twin record that cannot be stored (bad account id, duplicate account, bad relay domain, …). */
export class InvalidTwinError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_INVALID_TWIN", message, options);
  }
}

/** An operation named a twin id the registry does not hold. */
export class TwinNotFoundError extends RmbError {
  readonly twinId: number;
  constructor(twinId: number) {
    super("RMB_ERR_TWIN_NOT_FOUND", `twin not found ${twinId}`);
    this.twinId = twinId;
  }
}
