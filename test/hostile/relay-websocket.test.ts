import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import WebSocket from "ws";
import type { Signer } from "../../src/identity/index.js";
import {
  addressIsSession,
  createJwt,
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
} from "../../src/protocol/index.js";
import { encode, RelayTestClient, requestEnvelope } from "../support/relay-client.js";
import { forEachStoreMode } from "../support/store-modes.js";
import { waitUntil } from "../support/wait.js";
import { FUZZ_SEED, liveRuns } from "./fuzz-config.js";
import { HUGE_VARINTS, mutatedBytes, protobufLengthOffsets } from "./mutate.js";
import { RawWebSocket } from "./raw-websocket.js";
import { startHostileNet } from "./relay-net.js";

const RUNS = liveRuns(200);

/** An authenticated websocket that tells, after each junk frame, whether the relay kept or closed it. */
class Probe {
  readonly ws: WebSocket;
  readonly received: (Envelope | undefined)[] = [];
  close: { code: number; reason: string } | undefined;
  #waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data: Buffer) => {
      let env: Envelope | undefined;
      try {
        env = decodeEnvelope(new Uint8Array(data));
      } catch {
        env = undefined; // the relay only forwards what it could decode: counted as a failure below
      }
      this.received.push(env);
      this.#notify();
    });
    ws.on("close", (code, reason) => {
      this.close = { code, reason: reason.toString() };
      this.#notify();
    });
    ws.on("error", () => undefined);
  }

  static async connect(port: number, signer: Signer, twin: number): Promise<Probe> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?${createJwt(signer, { twin })}`);
    const probe = new Probe(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return probe;
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits until `done()` holds or the socket closes; rejects after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done() && this.close === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no answer from the relay in time");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /**
   * Sends `junk`, then a ping. Frames are handled in order, so the pong (or the close) tells the junk was handled.
   * Returns the envelopes received in between.
   */
  async probe(junk: Uint8Array, twin: number): Promise<(Envelope | undefined)[]> {
    const start = this.received.length;
    const uid = `ping-${randomBytes(6).toString("hex")}`;
    this.ws.send(junk, { binary: true });
    this.ws.send(encode(requestEnvelope({ twin }, undefined, { uid, message: { kind: "ping" } })), {
      binary: true,
    });
    const isPong = (e: Envelope | undefined) => e?.uid === uid && e.message?.kind === "pong";
    await this.until(() => this.received.slice(start).some(isPong));
    return this.received.slice(start);
  }

  async end(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise((r) => this.ws.once("close", r));
      this.ws.close();
      await closed;
    }
  }
}

/** Valid frames of the hostile twin: requests, responses, errors and pings to itself, others and unknown twins. */
function validFrames(hostile: Signer, twin: number, others: number[]): fc.Arbitrary<Uint8Array> {
  const dst = fc.constantFrom(twin, ...others, 999, 0);
  const message = fc.constantFrom<Envelope["message"]>(
    { kind: "request", command: "hostile.cmd" },
    { kind: "response" },
    { kind: "error", code: 7, message: "boom" },
    { kind: "ping" },
  );
  return fc
    .tuple(dst, message, fc.uint8Array({ maxLength: 64 }), fc.boolean())
    .map(([d, m, data, signed]) => {
      const env = requestEnvelope({ twin }, { twin: d }, { payload: { kind: "plain", data } });
      if (m !== undefined) env.message = m;
      if (signed) env.signature = hostile.sign(new Uint8Array(16));
      return encodeEnvelope(env);
    });
}

forEachStoreMode((mode, store) => {
  describe(`hostile input — relay websocket [${mode}]`, () => {
    test("random and mutated frames: undecodable ones close only that connection (1007), others keep it usable; other twins still talk", async (t) => {
      const net = await startHostileNet(store());
      t.after(() => net.relay.stop());
      const [hostileId, aId, bId] = net.ids;
      const frames = fc.sample(
        fc.oneof(
          { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }) },
          {
            weight: 3,
            arbitrary: mutatedBytes(
              validFrames(net.hostile, hostileId, [aId, bId]),
              HUGE_VARINTS,
              protobufLengthOffsets,
            ),
          },
        ),
        FUZZ_SEED === undefined ? RUNS : { numRuns: RUNS, seed: FUZZ_SEED },
      );
      let probe = await Probe.connect(net.port, net.hostile, hostileId);
      let closedCount = 0;
      let kept = 0;
      for (const junk of frames) {
        if (junk.length === 0) continue; // an empty frame is a valid, empty envelope: nothing to probe
        let env: Envelope | undefined;
        try {
          env = decodeEnvelope(junk);
        } catch {
          env = undefined;
        }
        const between = await probe.probe(junk, hostileId);
        assert.ok(
          between.every((e) => e !== undefined),
          "the relay forwarded a frame that does not decode",
        );
        if (env === undefined) {
          // Undecodable: this connection (only) is closed with a clear reason.
          assert.deepEqual(probe.close, { code: 1007, reason: "invalid envelope" });
          closedCount++;
          probe = await Probe.connect(net.port, net.hostile, hostileId);
          continue;
        }
        assert.equal(
          probe.close,
          undefined,
          `a decodable frame closed the connection: ${Buffer.from(junk).toString("hex")}`,
        );
        kept++;
        // A request claiming another source is refused with rmb-rs's error, to the sender's session.
        if (env.message?.kind === "request" && !addressIsSession(env.source, { twin: hostileId })) {
          assert.ok(
            between.some(
              (e) =>
                e?.uid === env.uid &&
                e.message?.kind === "error" &&
                e.message.message === "message wrong source",
            ),
            "no 'message wrong source' error for a spoofed source",
          );
        }
      }
      assert.ok(
        closedCount > 0 && kept > 0,
        `closed ${closedCount}, kept ${kept}: the sample misses a branch`,
      );
      await probe.end();

      // Two other twins still exchange a message (junk queued for them arrives too; the request is among it).
      const a = await RelayTestClient.connect(net.port, net.a, { twin: aId });
      const b = await RelayTestClient.connect(net.port, net.b, { twin: bId });
      try {
        const req = requestEnvelope({ twin: aId }, { twin: bId });
        a.send(encode(req));
        await waitUntil(async () => b.received.some((r) => r.env.uid === req.uid));
      } finally {
        await a.close();
        await b.close();
      }
      await waitUntil(async () => net.relay.sessionCount === 0);
    });

    test("raw bytes on the socket after the upgrade end only that connection; the relay forgets it and keeps serving", async (t) => {
      const net = await startHostileNet(store());
      t.after(() => net.relay.stop());
      const [hostileId, aId, bId] = net.ids;
      const junk = fc.sample(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        FUZZ_SEED === undefined ? Math.min(RUNS, 40) : { numRuns: Math.min(RUNS, 40), seed: FUZZ_SEED },
      );
      for (const bytes of junk) {
        const raw = await RawWebSocket.open(net.port, createJwt(net.hostile, { twin: hostileId }));
        raw.write(bytes);
        // Client frames must be masked: an unmasked first frame is a protocol error (1002). Anything else may be a
        // frame still waiting for its bytes: the relay keeps it open until the peer hangs up.
        const [b0 = 0, b1 = 0x80] = bytes;
        if (bytes.length >= 2 && ((b0 & 0x70) !== 0 || (b1 & 0x80) === 0)) {
          const close = await raw.closed();
          assert.ok(close === undefined || close.code === 1002, `closed with ${JSON.stringify(close)}`);
        }
        await raw.destroy();
      }
      await waitUntil(async () => net.relay.sessionCount === 0);
      const a = await RelayTestClient.connect(net.port, net.a, { twin: aId });
      const b = await RelayTestClient.connect(net.port, net.b, { twin: bId });
      try {
        const req = requestEnvelope({ twin: aId }, { twin: bId });
        a.send(encode(req));
        assert.equal((await b.next()).env.uid, req.uid);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
