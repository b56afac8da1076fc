import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryQueueStore, RelayMetrics } from "../../src/relay/index.js";
import { SessionConnection } from "../../src/relay/session.js";
import type { WsConnection } from "../../src/ws/ws-connection.js";

// A frame handler that throws cannot be produced through the relay (the router catches its own errors), so this
// drives SessionConnection directly with the few socket members it uses.
test("a failing frame handler is counted and does not stop the frames after it", async () => {
  const ws = { isPaused: false, pause() {}, resume() {}, readyState: 1 } as unknown as WsConnection;
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

test("a failed queue read is retried after a pause, so queued messages still go out", async () => {
  const store = new MemoryQueueStore();
  await store.enqueue("1", new Uint8Array([7]));
  let failures = 1;
  const flaky = Object.assign(Object.create(store) as MemoryQueueStore, {
    read: (session: string, after: string | undefined, count: number) =>
      failures-- > 0 ? Promise.reject(new Error("store down")) : store.read(session, after, count),
    ack: (session: string, ids: readonly string[]) => store.ack(session, ids),
    ackSync: (session: string, ids: readonly string[]) => store.ackSync(session, ids),
  });
  const sent: number[] = [];
  const ws: Pick<WsConnection, "isPaused" | "bufferedAmount" | "onWritten" | "sendTracked"> = {
    isPaused: false,
    bufferedAmount: 0,
    onWritten: () => undefined,
    sendTracked(data: Uint8Array, token: string) {
      sent.push(data[0]!);
      queueMicrotask(() => ws.onWritten([token], data.length));
    },
  };
  const conn = new SessionConnection({ twin: 1 }, ws as WsConnection, "o2", flaky, new RelayMetrics(), 8);
  conn.pump();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(conn.readFailures, 1);
  assert.deepEqual(sent, []);
  await new Promise((r) => setTimeout(r, 700));
  assert.deepEqual(sent, [7]);
  conn.markClosed();
});

test("an entry written ahead whose write completes during a queue read is not written again", async () => {
  const store = new MemoryQueueStore();
  let release: (() => void) | undefined;
  let holdReads = false;
  const gated = Object.assign(Object.create(store) as MemoryQueueStore, {
    // The snapshot is taken when the read is issued; its answer arrives only when released.
    read: async (session: string, after: string | undefined, count: number) => {
      const snapshot = await store.read(session, after, count);
      if (holdReads) await new Promise<void>((r) => (release = r));
      return snapshot;
    },
    ack: (session: string, ids: readonly string[]) => store.ack(session, ids),
    ackSync: (session: string, ids: readonly string[]) => store.ackSync(session, ids),
  });
  const sent: string[] = [];
  const ws: Pick<WsConnection, "isPaused" | "bufferedAmount" | "onWritten" | "sendTracked"> = {
    isPaused: false,
    bufferedAmount: 0,
    onWritten: () => undefined,
    sendTracked(_data: Uint8Array, token: string) {
      sent.push(token);
    },
  };
  const conn = new SessionConnection({ twin: 1 }, ws as WsConnection, "o3", gated, new RelayMetrics(), 8);
  conn.pump();
  await new Promise((r) => setImmediate(r)); // the first read found nothing: the connection is in sync
  const data = new Uint8Array([1]);
  const id = store.enqueueSync("1", data);
  conn.offer(id, data);
  assert.deepEqual(sent, [id]); // written at once, ahead of any read
  holdReads = true;
  conn.wake(); // another process may have queued: a read starts and sees the entry (not acked yet)
  await new Promise((r) => setImmediate(r));
  assert.ok(release !== undefined, "the read is under way");
  ws.onWritten([id], 1); // the write completes and the entry is acked while the read is out
  holdReads = false;
  release();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, [id], "the entry was written once");
  assert.equal(await store.length("1"), 0);
  conn.markClosed();
});

test("a message offered right as a queue read ends is written, not left in the queue", async () => {
  const store = new MemoryQueueStore();
  const data = new Uint8Array([1]);
  let id = "";
  const sent: string[] = [];
  let conn: SessionConnection | undefined;
  const gated = Object.assign(Object.create(store) as MemoryQueueStore, {
    // The read looks (finds nothing), then the message is queued and offered in the microtask right after the one
    // in which the read's answer ends the pump.
    read: async (session: string, after: string | undefined, count: number) => {
      const snapshot = await store.read(session, after, count);
      id = store.enqueueSync("1", data);
      queueMicrotask(() => queueMicrotask(() => conn!.offer(id, data)));
      return snapshot;
    },
    ack: (session: string, ids: readonly string[]) => store.ack(session, ids),
    ackSync: (session: string, ids: readonly string[]) => store.ackSync(session, ids),
  });
  const ws: Pick<WsConnection, "isPaused" | "bufferedAmount" | "onWritten" | "sendTracked"> = {
    isPaused: false,
    bufferedAmount: 0,
    onWritten: () => undefined,
    sendTracked(_data: Uint8Array, token: string) {
      sent.push(token);
    },
  };
  conn = new SessionConnection({ twin: 1 }, ws as WsConnection, "o4", gated, new RelayMetrics(), 8);
  conn.pump();
  for (let i = 0; i < 20 && sent.length === 0; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, [id]);
  conn.markClosed();
});
