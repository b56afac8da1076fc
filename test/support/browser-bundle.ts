import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root (this file runs from dist/test/support). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** What `buildBrowserBundle` (scripts/build-browser.mjs) returns. */
export interface BuiltBundle {
  outfile: string;
  bytes: number;
  metafile: { outputs: Record<string, { imports: { path: string; external?: boolean }[] }> };
}

/** Builds a browser bundle with the repository's build script (the same settings users get). */
export async function buildBundle(options: {
  outfile: string;
  entry?: string;
  minify?: boolean;
}): Promise<BuiltBundle> {
  const script = pathToFileURL(join(repoRoot, "scripts", "build-browser.mjs")).href;
  const { buildBrowserBundle } = (await import(script)) as {
    buildBrowserBundle: (o: typeof options) => Promise<BuiltBundle>;
  };
  return buildBrowserBundle(options);
}
