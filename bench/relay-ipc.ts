/**
 * Messages between the relay benchmark (`relay.bench.ts`) and its child processes (`server-process.ts`,
 * `idle-clients.ts`), sent over the Node IPC channel as JSON.
 */

/** Domain served by the benchmark relay; every registered twin names it, so all twins are local. */
export const BENCH_DOMAIN = "relay.bench";

/** What `server-process.js` runs: our relay (embedded, or on Redis when `redis` is set) or the ws forwarder. */
export type ServerSpec =
  | {
      kind: "relay";
      /** Account ids (hex) of the twins to register, in order: twin ids are 1, 2, … */
      accounts: string[];
      /** `redis://…` URL: Redis mode. Absent: embedded mode. */
      redis?: string;
    }
  | { kind: "forwarder" };

/** What `idle-clients.js` opens: `count` sessions `<sidPrefix><from + i>` of one twin, all left idle. */
export interface IdleClientsSpec {
  port: number;
  /** Secret URI of the twin's ed25519 key (the JWT signer). */
  secret: string;
  twin: number;
  sidPrefix: string;
  from: number;
  count: number;
  /** Loopback source address, so several client processes do not share one ephemeral port range. */
  localAddress: string;
  /** Connection attempts in flight at once. */
  concurrency: number;
}

/** Parent → child. */
export type ParentCommand =
  /** Reply with a `stats` message; run two full GCs first when `gc` (needs `--expose-gc`). */
  { cmd: "stats"; gc: boolean };

/** Child → parent. */
export type ChildMessage =
  | { type: "ready"; port: number }
  | { type: "error"; message: string }
  | { type: "stats"; rss: number; heapUsed: number; external: number; sessions: number; gc: boolean }
  | { type: "idle-ready"; opened: number; failed: number; firstError?: string };
