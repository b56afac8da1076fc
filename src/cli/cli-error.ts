import { RmbError } from "../errors.js";

/** A command-line usage problem: unknown command, missing or bad option. Exit status 2. */
export class UsageError extends RmbError {
  constructor(message: string) {
    super("RMB_ERR_USAGE", message);
  }
}
