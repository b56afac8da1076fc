/** Small guards for bodies received from other agents (anything may arrive). */

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A safe non-negative integer. */
export function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A twin id: an integer in [1, 2^32 − 1]. */
export function isTwinId(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 0xffffffff;
}

export function isShortString(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= max;
}

const HEX = /^[0-9a-f]*$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Lower-case hex of exactly `length` bytes → bytes; `undefined` otherwise. */
export function fromHex(text: unknown, length: number): Uint8Array | undefined {
  if (typeof text !== "string" || text.length !== 2 * length || !HEX.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, "hex"));
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Resolves true as soon as one promise resolves true; false once all resolved false or rejected. */
export function firstTrue(promises: readonly Promise<boolean>[]): Promise<boolean> {
  if (promises.length === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    let pending = promises.length;
    for (const p of promises) {
      p.then(
        (ok) => {
          if (ok) resolve(true);
          else if (--pending === 0) resolve(false);
        },
        () => {
          if (--pending === 0) resolve(false);
        },
      );
    }
  });
}
