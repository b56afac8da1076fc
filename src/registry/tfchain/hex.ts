import { SubstrateRpcError } from "./errors.js";

/** `0x`-prefixed lowercase hex of `bytes`, the form substrate's JSON-RPC uses for bytes and hashes. */
export function toHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

/**
 * The bytes of a `0x`-prefixed hex string from a node's answer. Anything else (no prefix, odd length, a non-hex
 * digit) throws `SubstrateRpcError` with reason `protocol`, naming `what`.
 */
export function fromHex(text: string, what: string): Uint8Array {
  if (!isHex(text)) {
    throw new SubstrateRpcError(
      "protocol",
      `${what} is not 0x-prefixed hex: ${JSON.stringify(String(text).slice(0, 80))}`,
    );
  }
  return new Uint8Array(Buffer.from(text.slice(2), "hex"));
}

/** `true` for a `0x`-prefixed string of an even number of hex digits. */
export function isHex(text: unknown): text is string {
  return typeof text === "string" && /^0x(?:[0-9a-fA-F]{2})*$/.test(text);
}
