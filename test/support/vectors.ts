import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Finds `shared/spec/rmb-test-vectors.json` (beside the repo) or the copy in `test/fixtures/`. */
function vectorsPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/test/support → repo root is three levels up
  const root = join(here, "..", "..", "..");
  return join(root, "test", "fixtures", "rmb-test-vectors.json");
}

// biome-ignore lint/suspicious/noExplicitAny: the vectors file is plain JSON checked field by field in tests
export const vectors: any = JSON.parse(readFileSync(vectorsPath(), "utf8"));

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
