import { readFileSync } from "node:fs";

let cached: string | undefined;

/** This package's version (from its package.json, read once). */
export function packageVersion(): string {
  if (cached === undefined) {
    // dist/src/version.js and src/version.ts both sit two levels below the package root.
    const url = new URL(
      import.meta.url.includes("/dist/") ? "../../package.json" : "../package.json",
      import.meta.url,
    );
    cached = (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  }
  return cached;
}
