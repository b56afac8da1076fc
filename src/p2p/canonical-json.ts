import { InvalidArgumentError } from "../errors.js";

/**
 * A canonical JSON text of `value`: object keys sorted (by UTF-16 code units, as RFC 8785), no whitespace, keys
 * whose value is `undefined` left out. What agents sign, so any implementation can rebuild the same bytes from the
 * parsed JSON. Accepts plain JSON values only (finite numbers, strings, booleans, null, arrays, plain objects).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new InvalidArgumentError("value", "a number is not finite");
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
    }
    default:
      throw new InvalidArgumentError("value", `${typeof value} is not JSON`);
  }
}
