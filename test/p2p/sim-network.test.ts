import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { P2pRequestError, P2pTimeoutError, SimNetwork } from "../../src/p2p/index.js";

async function settle<T>(net: SimNetwork, p: Promise<T>, ms = 5000): Promise<T> {
  let out: { v: T } | { e: unknown } | undefined;
  p.then(
    (v) => {
      out = { v };
    },
    (e: unknown) => {
      out = { e };
    },
  );
  await net.runUntil(() => out !== undefined, ms, 10);
  if (out === undefined) throw new Error("not settled");
  if ("e" in out) throw out.e;
  return out.v;
}

describe("p2p SimNetwork", () => {
  test("sim — a request reaches the handler with the sender and a JSON copy of the body; time is virtual", async () => {
    const net = new SimNetwork({ seed: 1 });
    const seen: unknown[] = [];
    const body = { a: [1, 2], b: "x" };
    net.transport(2).serve("echo", (from, b) => {
      seen.push(from, b);
      return { got: b };
    });
    const t0 = Date.now();
    const reply = await settle(net, net.transport(1).request(2, "echo", body, 1000));
    assert.deepEqual(reply, { got: body });
    assert.equal(seen[0], 1);
    assert.notEqual(seen[1], body, "the handler gets a copy");
    assert.ok(net.now >= 20 && net.now < 2100, `virtual time moved (${net.now})`);
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(net.stats.requests, 1);
    assert.equal(net.stats.responses, 1);
  });

  test("sim — no answer within the timeout rejects with P2pTimeoutError; a throwing handler with P2pRequestError", async () => {
    const net = new SimNetwork({ seed: 1 });
    net.transport(2).serve("hang", () => new Promise(() => {}));
    net.transport(2).serve("fail", () => {
      throw new Error("boom");
    });
    await assert.rejects(settle(net, net.transport(1).request(2, "hang", null, 500)), P2pTimeoutError);
    await assert.rejects(settle(net, net.transport(1).request(2, "fail", null, 500)), (err: unknown) => {
      assert.ok(err instanceof P2pRequestError);
      assert.equal(err.code, "RMB_ERR_P2P_REQUEST");
      assert.match(err.message, /boom/);
      return true;
    });
    await assert.rejects(settle(net, net.transport(1).request(2, "nothing", null, 500)), /no handler/);
  });

  test("sim — killed and partitioned agents get nothing; heal and revive restore them", async () => {
    const net = new SimNetwork({ seed: 1 });
    net.transport(2).serve("ping", () => "pong");
    net.kill(2);
    await assert.rejects(settle(net, net.transport(1).request(2, "ping", null, 300)), P2pTimeoutError);
    net.revive(2);
    assert.equal(await settle(net, net.transport(1).request(2, "ping", null, 300)), "pong");
    net.partition([2]);
    await assert.rejects(settle(net, net.transport(1).request(2, "ping", null, 300)), P2pTimeoutError);
    net.heal();
    assert.equal(await settle(net, net.transport(1).request(2, "ping", null, 300)), "pong");
    assert.ok(net.stats.dropped >= 2);
  });

  test("sim — loss drops about the given share of messages, and a seed replays the same run", async () => {
    const run = async (seed: number): Promise<[number, number]> => {
      const net = new SimNetwork({ seed, loss: 0.2 });
      net.transport(2).serve("ping", () => "pong");
      let ok = 0;
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < 500; i++) {
        all.push(
          net
            .transport(1)
            .request(2, "ping", i, 300)
            .then(
              () => ok++,
              () => {},
            ),
        );
      }
      await net.run(1000);
      await Promise.all(all);
      return [ok, net.stats.lost];
    };
    const [ok, lost] = await run(3);
    assert.ok(ok > 500 * 0.55 && ok < 500 * 0.75, `about 0.8² of requests answered, got ${ok}`);
    assert.deepEqual(await run(3), [ok, lost], "same seed, same outcome");
    assert.notDeepEqual(await run(4), [ok, lost]);
  });

  test("sim — the loss option is validated", () => {
    assert.throws(() => new SimNetwork({ loss: 1.5 }), { code: "RMB_ERR_INVALID_ARGUMENT" });
  });
});
