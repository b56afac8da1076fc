import { RmbError } from "../../errors.js";

/** The registry service's account store cannot be opened, is corrupt, locked by another process or failed to write. */
export class RegistryStoreError extends RmbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RMB_ERR_REGISTRY_STORE", message, options);
  }
}

/** A `RegistrarService` option is missing or out of range; `option` names it. */
export class RegistrarOptionsError extends RmbError {
  readonly option: string;
  constructor(option: string, problem: string) {
    super("RMB_ERR_REGISTRAR_OPTIONS", `invalid registrar option '${option}': ${problem}`);
    this.option = option;
  }
}
