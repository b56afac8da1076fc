import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

test("docs — every error code used in src/ is listed in docs/errors.md", () => {
  const doc = readFileSync(join(root, "docs", "errors.md"), "utf8");
  const codes = new Set<string>();
  for (const file of sourceFiles(join(root, "src"))) {
    for (const m of readFileSync(file, "utf8").matchAll(/"(RMB_ERR_[A-Z0-9_]+)"/g)) codes.add(m[1]!);
  }
  assert.ok(codes.size >= 10, `found only ${codes.size} codes`);
  const missing = [...codes].filter((c) => !doc.includes(`\`${c}\``));
  assert.deepEqual(missing, [], `codes missing from docs/errors.md: ${missing.join(", ")}`);
});
