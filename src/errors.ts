/**
 * Base error of rmb-ts. Every error the library throws on purpose is an `RmbError` subclass with a stable
 * `code` string (documented in docs/errors.md), a human message and an optional `cause`.
 *
 * @example
 * try { decodeEnvelope(bytes) } catch (e) { if (e instanceof RmbError && e.code === "RMB_ERR_DECODE") … }
 */
export class RmbError extends Error {
  /** Stable, machine-readable code such as `RMB_ERR_DECODE`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument given to a public function is not acceptable (wrong type, length or range). */
export class InvalidArgumentError extends RmbError {
  constructor(argument: string, problem: string, options?: { cause?: unknown }) {
    super("RMB_ERR_INVALID_ARGUMENT", `invalid argument '${argument}': ${problem}`, options);
  }
}

/** The message of a thrown value (`String(value)` when it is not an `Error`), for logs and error texts. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
