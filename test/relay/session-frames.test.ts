import assert from "node:assert/strict";
import { test } from "node:test";
import type { WebSocket } from "ws";
import { MemoryQueueStore, RelayMetrics } from "../../src/relay/index.js";
import { SessionConnection } from "../../src/relay/session.js";

// A frame handler that throws cannot be produced through the relay (the router catches its own errors), so this
// drives SessionConnection directly with the few socket members it uses.
test("a failing frame handler is counted and does not stop the frames after it", async () => {
  const ws = { isPaused: false, pause() {}, resume() {}, readyState: 1, OPEN: 1 } as unknown as WebSocket;
  const conn = new SessionConnection({ twin: 1 }, ws, "o1", new MemoryQueueStore(), new RelayMetrics(), 8);
  const order: number[] = [];
  let rejections = 0;
  const onRejection = () => {
    rejections += 1;
  };
  process.on("unhandledRejection", onRejection);
  try {
    conn.enqueueFrame(async () => {
      order.push(1);
    });
    conn.enqueueFrame(async () => {
      throw new Error("boom");
    });
    conn.enqueueFrame(() => Promise.reject(new Error("again")));
    const done = new Promise<void>((resolve) =>
      conn.enqueueFrame(async () => {
        order.push(4);
        resolve();
      }),
    );
    await done;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [1, 4]);
    assert.equal(conn.handlerFailures, 2);
    assert.equal(rejections, 0);
  } finally {
    process.off("unhandledRejection", onRejection);
  }
});
