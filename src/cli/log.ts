import type { Writable } from "node:stream";

/** Log levels of the long-running commands; `-d` raises the level to debug, `-dd` to trace. */
export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

/** A line logger: `<ISO time> <LEVEL> <message>` on the given stream. */
export class Logger {
  readonly #out: Writable;
  readonly #level: number;

  constructor(out: Writable, level: LogLevel = "info") {
    this.#out = out;
    this.#level = ORDER[level];
  }

  enabled(level: LogLevel): boolean {
    return ORDER[level] <= this.#level;
  }

  log(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    this.#out.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`);
  }

  error(message: string): void {
    this.log("error", message);
  }
  warn(message: string): void {
    this.log("warn", message);
  }
  info(message: string): void {
    this.log("info", message);
  }
  debug(message: string): void {
    this.log("debug", message);
  }
}

/** The level for `n` occurrences of `-d`. */
export function levelForDebugFlags(n: number): LogLevel {
  return n <= 0 ? "info" : n === 1 ? "debug" : "trace";
}
