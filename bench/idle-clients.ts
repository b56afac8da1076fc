/**
 * Child process of the relay benchmark's idle-connection test: opens `count` authenticated websocket sessions
 * (one twin, distinct `sid`s) to the relay and keeps them open, idle, until the parent goes away. Several of
 * these run at once so that no single process runs out of file descriptors or CPU.
 *
 * Usage: `node dist/bench/idle-clients.js '<IdleClientsSpec JSON>'` with an IPC channel; sends one
 * `{type:"idle-ready"}` when every attempt has finished.
 */
import WebSocket from "ws";
import { createSigner } from "../src/identity/index.js";
import { createJwt } from "../src/protocol/index.js";
import type { ChildMessage, IdleClientsSpec } from "./relay-ipc.js";

const CONNECT_TIMEOUT_MS = 30_000;

function send(message: ChildMessage): void {
  process.send?.(message);
}

function open(url: string, localAddress: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      localAddress,
      handshakeTimeout: CONNECT_TIMEOUT_MS,
    });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "") as IdleClientsSpec;
  process.on("disconnect", () => process.exit(0));
  const signer = createSigner(spec.secret, "ed25519");
  // Kept referenced so that the sockets stay open; nothing is ever sent on them.
  const sockets: WebSocket[] = [];
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < spec.count) {
      const sid = `${spec.sidPrefix}${spec.from + next++}`;
      const token = createJwt(signer, { twin: spec.twin, sid, ttl: 3600 });
      try {
        const ws = await open(`ws://127.0.0.1:${spec.port}/?${token}`, spec.localAddress);
        ws.on("error", () => undefined);
        sockets.push(ws);
      } catch (err) {
        failed += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  send(
    firstError === undefined
      ? { type: "idle-ready", opened: sockets.length, failed }
      : { type: "idle-ready", opened: sockets.length, failed, firstError },
  );
}

main().catch((err: unknown) => {
  send({ type: "error", message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
