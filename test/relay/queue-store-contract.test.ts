import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { type DropListener, MemoryQueueStore, type QueueStore } from "../../src/relay/index.js";
import { RedisQueueStore } from "../../src/relay/redis/redis-queue-store.js";
import { type RedisServerHandle, startRedisServer } from "../support/redis-server.js";

interface StoreOptions {
  maxLength?: number;
  maxAge?: number;
  clock?: () => number;
  onDrop?: DropListener;
}

const bytes = (n: number) => new Uint8Array([n]);
const firstBytes = (list: { data: Uint8Array }[]) => list.map((m) => m.data[0]);

/** The behaviour every QueueStore must have; `make` builds a fresh, empty store. */
function contract(name: string, make: (o: StoreOptions) => Promise<QueueStore>): void {
  describe(`${name} — queue store contract`, () => {
    test("FIFO with a read cursor and ack; unacked entries are read again", async () => {
      const s = await make({});
      for (let i = 0; i < 5; i++) await s.enqueue("1", bytes(i));
      const first = await s.read("1", undefined, 3);
      assert.deepEqual(firstBytes(first), [0, 1, 2]);
      assert.deepEqual(firstBytes(await s.read("1", first[2]!.id, 10)), [3, 4]);
      await s.ack("1", [first[0]!.id, first[2]!.id]);
      assert.equal(await s.length("1"), 3);
      assert.deepEqual(firstBytes(await s.read("1", undefined, 10)), [1, 3, 4]);
      await s.close();
    });

    test("sessions are independent; an unknown session is empty; acking twice is harmless", async () => {
      const s = await make({});
      await s.enqueue("1:a", bytes(1));
      await s.enqueue("1:b", bytes(2));
      assert.deepEqual(firstBytes(await s.read("1:a", undefined, 10)), [1]);
      assert.deepEqual(firstBytes(await s.read("1:b", undefined, 10)), [2]);
      assert.deepEqual(await s.read("9", undefined, 10), []);
      assert.equal(await s.length("9"), 0);
      const [entry] = await s.read("1:a", undefined, 1);
      await s.ack("1:a", [entry!.id, entry!.id]);
      assert.equal(await s.length("1:a"), 0);
      assert.equal(await s.length("1:b"), 1);
      await s.close();
    });

    test("bytes are kept exactly, including large and empty payloads", async () => {
      const s = await make({});
      const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
      await s.enqueue("2", big);
      await s.enqueue("2", new Uint8Array(0));
      const got = await s.read("2", undefined, 10);
      assert.deepEqual(
        got.map((m) => Buffer.from(m.data)),
        [Buffer.from(big), Buffer.alloc(0)],
      );
      await s.close();
    });

    test("maxLength drops the oldest and reports each drop", async () => {
      const dropped: [string, number, string][] = [];
      const s = await make({ maxLength: 2, onDrop: (k, d, r) => dropped.push([k, d[0]!, r]) });
      for (let i = 0; i < 4; i++) await s.enqueue("7:x", bytes(i));
      assert.deepEqual(dropped, [
        ["7:x", 0, "queue_full"],
        ["7:x", 1, "queue_full"],
      ]);
      assert.deepEqual(firstBytes(await s.read("7:x", undefined, 10)), [2, 3]);
      await s.close();
    });

    test("maxLength spares the oldest keepHead entries (being written to the connection); at worst the new one goes", async () => {
      const dropped: number[] = [];
      const s = await make({ maxLength: 2, onDrop: (_k, d) => dropped.push(d[0]!) });
      for (let i = 0; i < 4; i++) await s.enqueue("8", bytes(i), 1);
      assert.deepEqual(dropped, [1, 2]);
      assert.deepEqual(firstBytes(await s.read("8", undefined, 10)), [0, 3]);
      assert.equal(await s.enqueue("8", bytes(4), 5), "", "an entry the cap drops at once has no id");
      assert.deepEqual(dropped, [1, 2, 4]);
      assert.deepEqual(firstBytes(await s.read("8", undefined, 10)), [0, 3]);
      await s.close();
    });

    test("enqueues issued in one turn, for several sessions, keep their order; the cap applies across them", async () => {
      const dropped: [string, number][] = [];
      const s = await make({ maxLength: 3, onDrop: (k, d) => dropped.push([k, d[0]!]) });
      const ids = await Promise.all(
        Array.from({ length: 10 }, (_, i) => s.enqueue(i % 2 === 0 ? "20" : "21", bytes(i))),
      );
      // Ids order one session's queue (two sessions may use the same id). An entry the cap dropped within the same
      // batch may come back without an id ("": dropped at once, reported, not to be delivered).
      const kept20 = ids.filter((id, i) => i % 2 === 0 && id !== "");
      assert.equal(new Set(kept20).size, kept20.length);
      assert.ok(kept20.length >= 3);
      // keepHead 3 on a full queue of 3: the new entry itself is the one dropped, and says so.
      const late = await Promise.all([s.enqueue("20", bytes(10), 3), s.enqueue("21", bytes(11))]);
      assert.equal(late[0], "");
      assert.notEqual(late[1], "");
      assert.deepEqual(firstBytes(await s.read("20", undefined, 10)), [4, 6, 8]);
      assert.deepEqual(firstBytes(await s.read("21", undefined, 10)), [7, 9, 11]);
      assert.deepEqual(
        dropped.sort((a, b) => a[1] - b[1]),
        [
          ["20", 0],
          ["21", 1],
          ["20", 2],
          ["21", 3],
          ["21", 5],
          ["20", 10],
        ],
      );
      const read = await s.read("20", undefined, 10);
      assert.deepEqual(
        read.map((m) => m.id),
        [ids[4], ids[6], ids[8]],
      );
      await s.close();
    });

    test("maxAge: sweep and read drop older entries and report them", async () => {
      let now = 1000;
      const dropped: number[] = [];
      const s = await make({ maxAge: 10, clock: () => now, onDrop: (_k, d) => dropped.push(d[0]!) });
      await s.enqueue("1", bytes(1));
      now = 1005;
      await s.enqueue("1", bytes(2));
      now = 1010;
      await s.sweep();
      assert.deepEqual(dropped, [1]);
      assert.equal(await s.length("1"), 1);
      now = 1015;
      assert.deepEqual(await s.read("1", undefined, 10), []);
      assert.deepEqual(dropped, [1, 2]);
      assert.equal(await s.length("1"), 0);
      await s.close();
    });

    test("a read fills its batch past expired entries", async () => {
      let now = 1000;
      const s = await make({ maxAge: 10, clock: () => now });
      for (let i = 0; i < 5; i++) await s.enqueue("3", bytes(i));
      now = 1008;
      await s.enqueue("3", bytes(5));
      now = 1012;
      assert.deepEqual(firstBytes(await s.read("3", undefined, 2)), [5]);
      await s.close();
    });
  });
}

contract("MemoryQueueStore", async (o) => new MemoryQueueStore(o));

describe("RedisQueueStore", () => {
  let server: RedisServerHandle;
  const clients: Redis[] = [];
  let n = 0;
  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server.stop();
  });
  const connect = (): Redis => {
    const c = new Redis(server.url, { enableAutoPipelining: true });
    clients.push(c);
    return c;
  };

  contract("RedisQueueStore", async (o) => new RedisQueueStore(connect(), { ...o, prefix: `t${++n}` }));

  test("keys are hash-tagged per session so one session's queue stays in one cluster slot", async () => {
    const c = connect();
    const s = new RedisQueueStore(c, { prefix: "tag" });
    await s.enqueue("42:abc", bytes(1));
    assert.deepEqual(await c.keys("tag:*"), ["tag:relay:queue:{42:abc}"]);
    assert.equal(await c.type("tag:relay:queue:{42:abc}"), "stream");
    assert.ok((await c.ttl("tag:relay:queue:{42:abc}")) > 3600);
  });

  test("queues outlive the store: a new store on the same Redis reads what the old one queued", async () => {
    const a = new RedisQueueStore(connect(), { prefix: "restart" });
    for (let i = 0; i < 3; i++) await a.enqueue("5", bytes(i));
    const [head] = await a.read("5", undefined, 1);
    await a.ack("5", [head!.id]);
    await a.close();
    const b = new RedisQueueStore(connect(), { prefix: "restart" });
    assert.deepEqual(firstBytes(await b.read("5", undefined, 10)), [1, 2]);
  });

  test("acks of one turn for a session become one XDEL", async () => {
    const c = connect();
    const s = new RedisQueueStore(c, { prefix: "batch" });
    for (let i = 0; i < 50; i++) await s.enqueue("6", bytes(i));
    const all = await s.read("6", undefined, 50);
    const before = await commandCalls(c, "xdel");
    await Promise.all(all.map((m) => s.ack("6", [m.id])));
    assert.equal((await commandCalls(c, "xdel")) - before, 1);
    assert.equal(await s.length("6"), 0);
  });

  test("enqueues of one turn become one script call; acks of one turn for several sessions another", async () => {
    const c = connect();
    const s = new RedisQueueStore(c, { prefix: "batch2" });
    const scripts = async () => (await commandCalls(c, "evalsha")) + (await commandCalls(c, "eval"));
    const before = await scripts();
    const xaddsBefore = await commandCalls(c, "xadd");
    await Promise.all(Array.from({ length: 40 }, (_, i) => s.enqueue(`${30 + (i % 4)}`, bytes(i))));
    assert.equal((await scripts()) - before, 1);
    assert.equal((await commandCalls(c, "xadd")) - xaddsBefore, 40);
    const reads = await Promise.all([30, 31, 32, 33].map((k) => s.read(`${k}`, undefined, 50)));
    assert.deepEqual(
      reads.map((list) => list.length),
      [10, 10, 10, 10],
    );
    const acksBefore = await scripts();
    const xdelsBefore = await commandCalls(c, "xdel");
    await Promise.all(reads.flatMap((list, k) => list.map((m) => s.ack(`${30 + k}`, [m.id]))));
    assert.equal((await scripts()) - acksBefore, 1);
    assert.equal((await commandCalls(c, "xdel")) - xdelsBefore, 4);
    for (const k of [30, 31, 32, 33]) assert.equal(await s.length(`${k}`), 0);
  });

  test("acks issued in the same turn as enqueues ride along in their script call", async () => {
    const c = connect();
    const s = new RedisQueueStore(c, { prefix: "batch3" });
    await Promise.all([0, 1, 2].map((i) => s.enqueue("40", bytes(i))));
    const queued = await s.read("40", undefined, 10);
    const scripts = async () => (await commandCalls(c, "evalsha")) + (await commandCalls(c, "eval"));
    const before = await scripts();
    const xdelsBefore = await commandCalls(c, "xdel");
    const acked = s.ack("40", [queued[0]!.id, queued[1]!.id]);
    const added = s.enqueue("41", bytes(9));
    await Promise.all([acked, added]);
    assert.equal((await scripts()) - before, 1, "one script call did both");
    assert.equal((await commandCalls(c, "xdel")) - xdelsBefore, 1);
    assert.deepEqual(firstBytes(await s.read("40", undefined, 10)), [2]);
    assert.deepEqual(firstBytes(await s.read("41", undefined, 10)), [9]);
  });

  test("a queue store on an unreachable Redis rejects instead of hanging", async () => {
    const dead = new Redis("redis://127.0.0.1:1", {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    dead.on("error", () => undefined);
    const s = new RedisQueueStore(dead);
    await assert.rejects(s.enqueue("1", bytes(1)));
    await assert.rejects(s.read("1", undefined, 1));
    dead.disconnect();
  });
});

async function commandCalls(c: Redis, name: string): Promise<number> {
  const info = await c.info("commandstats");
  const m = new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info);
  return m === null ? 0 : Number(m[1]);
}
