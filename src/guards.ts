import { InvalidArgumentError } from "./errors.js";

/**
 * Throws `InvalidArgumentError` naming `argument` unless `value` is a `Uint8Array` (a `Buffer` is one) and, when
 * `length` is given, exactly that long. Cheap enough for hot paths: one `instanceof` and one comparison.
 */
export function assertBytes(argument: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(argument, `expected a Uint8Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new InvalidArgumentError(argument, `expected ${length} bytes, got ${value.length}`);
  }
}

/** Throws `InvalidArgumentError` naming `argument` unless `value` is a string. */
export function assertString(argument: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new InvalidArgumentError(argument, `expected a string, got ${describe(value)}`);
  }
}

/** Throws `InvalidArgumentError` naming `argument` unless `value` is an integer in `[min, max]`. */
export function assertInteger(
  argument: string,
  value: unknown,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      argument,
      `expected an integer in [${min}, ${max}], got ${describe(value)}`,
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  if (typeof value === "number") return `${value}`;
  return typeof value;
}
