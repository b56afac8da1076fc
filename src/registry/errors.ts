import { RmbError } from "../errors.js";

/** A twin record that cannot be stored (bad account id, duplicate account, bad relay domain, …). */
export class InvalidTwinError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_INVALID_TWIN", message, options);
  }
}

/** An operation named a twin id (or an account) the registry does not hold. */
export class TwinNotFoundError extends RmbError {
  readonly twinId: number | undefined;
  constructor(twinId: number | undefined, message = `twin not found ${twinId}`) {
    super("RMB_ERR_TWIN_NOT_FOUND", message);
    this.twinId = twinId;
  }
}

/** `createTwin` for an account that already has a twin. */
export class TwinExistsError extends RmbError {
  readonly twinId: number | undefined;
  constructor(twinId: number | undefined, message = "the account already has a twin") {
    super("RMB_ERR_TWIN_EXISTS", message);
    this.twinId = twinId;
  }
}

/**
 * A registry backend failed: unreachable, answered with an unexpected status, or sent something that does not parse.
 * `status` is the HTTP status when there was one.
 */
export class RegistryUnavailableError extends RmbError {
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super("RMB_ERR_REGISTRY_UNAVAILABLE", message, options);
    this.status = options?.status;
  }
}

/** A registry refused a write (bad signature, not the owner, invalid field); `status` is the HTTP status if any. */
export class RegistryRejectedError extends RmbError {
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super("RMB_ERR_REGISTRY_REJECTED", message, options);
    this.status = options?.status;
  }
}
