import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createSigner } from "../../src/identity/index.js";
import {
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  isExpired,
  isFarFuture,
  signEnvelope,
  unixNow,
  verifyEnvelope,
} from "../../src/protocol/index.js";
import { MemoryRegistry } from "../../src/registry/index.js";
import { RelayServer } from "../../src/relay/index.js";
import { httpRequest, RelayTestClient, requestEnvelope } from "../support/relay-client.js";
import { forEachStoreMode } from "../support/store-modes.js";
import { FUZZ_SEED, liveRuns } from "./fuzz-config.js";
import { HUGE_VARINTS, mutatedBytes, protobufLengthOffsets } from "./mutate.js";

const DOMAIN = "relay.test";
const RUNS = liveRuns(300);

/** `POST /` over a keep-alive agent. */
function post(agent: Agent, port: number, body: Uint8Array): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/", agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(Buffer.from(body));
  });
}

forEachStoreMode((mode, store) => {
  describe(`hostile input — relay federation endpoint POST / [${mode}]`, () => {
    test("random and mutated bodies get 400/401 (202 only for what still verifies), never 5xx; the relay keeps serving", async (t) => {
      const registry = new MemoryRegistry();
      const sender = createSigner("//Charlie", "ed25519"); // a twin of another relay
      const receiver = createSigner("//Alice", "sr25519");
      const senderId = registry.register({ accountId: sender.publicKey, relays: ["remote.test"] }).id;
      const receiverId = registry.register({ accountId: receiver.publicKey, relays: [DOMAIN] }).id;
      const relay = new RelayServer({ domains: [DOMAIN], registry, ...store() });
      const { port } = await relay.start();
      const agent = new Agent({ keepAlive: true });
      t.after(async () => {
        agent.destroy();
        await relay.stop();
      });

      const valid = fc
        .tuple(
          fc.uint8Array({ maxLength: 64 }),
          fc.constantFrom("hostile.a", "hostile.b"),
          fc.constantFrom(undefined, "sess"),
        )
        .map(([data, command, connection]) => {
          const dst = connection === undefined ? { twin: receiverId } : { twin: receiverId, connection };
          const env = requestEnvelope({ twin: senderId }, dst, { payload: { kind: "plain", data } });
          env.message = { kind: "request", command };
          return encodeEnvelope(signEnvelope(env, sender));
        });
      // Signed envelopes changed field by field after signing: they decode, so only the signature check stops them.
      const tampered = fc
        .tuple(
          valid,
          fc.constantFrom<(e: Envelope) => void>(
            (e) => {
              e.source = { twin: receiverId }; // spoofed source
            },
            (e) => {
              e.payload = { kind: "plain", data: new Uint8Array([1, 2, 3]) };
            },
            (e) => {
              e.uid = `${e.uid}x`;
            },
            (e) => {
              e.expiration += 1; // stretched lifetime
            },
            (e) => {
              e.destination = { twin: receiverId, connection: "other" }; // redirected
            },
            (e) => {
              delete e.signature; // missing signature
            },
            (e) => {
              e.signature = new Uint8Array(65).fill(0x65); // forged signature
            },
            (e) => {
              e.tags = "fail-fast";
            },
          ),
        )
        .map(([bytes, change]) => {
          const env = decodeEnvelope(bytes);
          change(env);
          return encodeEnvelope(env);
        });
      const bodies = fc.sample(
        fc.oneof(
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
          { weight: 3, arbitrary: mutatedBytes(valid, HUGE_VARINTS, protobufLengthOffsets) },
          { weight: 2, arbitrary: tampered },
        ),
        FUZZ_SEED === undefined ? RUNS : { numRuns: RUNS, seed: FUZZ_SEED },
      );
      const seen = new Map<number, number>();
      for (const body of bodies) {
        const r = await post(agent, port, body);
        const what = `${r.status} ${r.body} for ${Buffer.from(body).toString("hex")}`;
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        let env: Envelope | undefined;
        try {
          env = decodeEnvelope(body);
        } catch {
          env = undefined;
        }
        if (env === undefined) {
          assert.equal(r.status, 400, what);
          assert.match(r.body, /^bad request: .+/, what);
          continue;
        }
        // Decodable: the relay's checks in order (destination, lifetime, clock skew, signature of the source twin),
        // then 202, or 404 for a fail-fast request to a session that is not connected.
        if (env.destination === undefined || env.destination.twin === 0) {
          assert.deepEqual(r, { status: 400, body: "bad request: message with missing destination" }, what);
          continue;
        }
        if (isExpired(unixNow(), env.timestamp, env.expiration)) {
          assert.deepEqual(r, { status: 400, body: "bad request: envelope expired" }, what);
          continue;
        }
        if (isFarFuture(unixNow(), env.timestamp, relay.options.maxClockSkew)) {
          assert.deepEqual(
            r,
            { status: 400, body: "bad request: envelope timestamp is in the future" },
            what,
          );
          continue;
        }
        const source = env.source === undefined ? undefined : await registry.getTwin(env.source.twin);
        let authentic = source !== undefined;
        try {
          if (source !== undefined) verifyEnvelope(env, source.accountId);
        } catch {
          authentic = false;
        }
        if (!authentic) {
          assert.equal(r.status, 401, what);
          assert.match(r.body, /^unauthorized: .+/, what);
        } else if (r.status === 404) {
          assert.deepEqual([r.body, env.tags?.includes("fail-fast")], ["destination offline", true], what);
        } else {
          assert.deepEqual(r, { status: 202, body: "" }, what);
        }
      }
      assert.ok(
        (seen.get(400) ?? 0) > 0 && (seen.get(401) ?? 0) > 0,
        `statuses ${JSON.stringify([...seen])}`,
      );

      // Still serving: a genuine federated request is accepted and delivered, metrics answer.
      const b = await RelayTestClient.connect(port, receiver, { twin: receiverId, sid: "after" });
      try {
        const env = signEnvelope(
          requestEnvelope({ twin: senderId }, { twin: receiverId, connection: "after" }),
          sender,
        );
        assert.equal((await httpRequest(port, "POST", "/", encodeEnvelope(env))).status, 202);
        assert.equal((await b.next()).env.uid, env.uid);
      } finally {
        await b.close();
      }
      assert.equal((await httpRequest(port, "GET", "/metrics")).status, 200);
    });
  });
});
