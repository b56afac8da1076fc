/**
 * Standard base64 as Go's `base64.StdEncoding` reads it (the registrar's decoder): the `+/` alphabet, padding
 * required, CR and LF ignored. Returns `undefined` for anything else (unpadded, URL-safe, stray characters).
 * Like Go (non-strict) it accepts non-zero trailing pad bits, so one byte string has several spellings; use
 * {@link encodeStdBase64} of the result for the canonical one.
 */
export function decodeStdBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/[\r\n]/g, "");
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(clean))
    return undefined;
  return new Uint8Array(Buffer.from(clean, "base64"));
}

/** Standard padded base64 of `bytes`. */
export function encodeStdBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
