/**
 * `Buffer` for the browser bundle: the `buffer` package (Node's API on a `Uint8Array`), taught the `base64url`
 * encoding that Node has since v15.7 and the package lacks (relay login tokens use it). esbuild injects this
 * `Buffer` wherever the library refers to the global.
 *
 * @module
 */
import { Buffer as PackageBuffer } from "buffer";

type ToString = (this: PackageBuffer, encoding?: string, start?: number, end?: number) => string;
type From = (value: unknown, encodingOrOffset?: unknown, length?: number) => PackageBuffer;

const proto = PackageBuffer.prototype as unknown as { toString: ToString };
const plainToString: ToString = proto.toString;
proto.toString = function toStringWithBase64url(
  this: PackageBuffer,
  encoding?: string,
  start?: number,
  end?: number,
): string {
  if (encoding !== "base64url") return plainToString.call(this, encoding, start, end);
  return plainToString
    .call(this, "base64", start, end)
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
};

const statics = PackageBuffer as unknown as { from: From };
const plainFrom: From = statics.from.bind(PackageBuffer);
statics.from = function from(value: unknown, encodingOrOffset?: unknown, length?: number): PackageBuffer {
  // The package's base64 decoder already accepts the URL alphabet and missing padding.
  if (typeof value === "string" && encodingOrOffset === "base64url") return plainFrom(value, "base64");
  return plainFrom(value, encodingOrOffset, length);
};

export { PackageBuffer as Buffer };
