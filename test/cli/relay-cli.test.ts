import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseListen } from "../../src/cli/commands/relay.js";
import { createSigner } from "../../src/identity/index.js";
import { type RmbProcess, runRmb, spawnRmb } from "../support/cli.js";
import { deadUrl, FakeSubstrate } from "../support/fake-substrate.js";
import { type RedisServerHandle, startRedisServer } from "../support/redis-server.js";
import { assertDelivers, encode, RelayTestClient, requestEnvelope } from "../support/relay-client.js";
import { waitUntil } from "../support/wait.js";

const alice = createSigner("//Alice", "ed25519");
const bob = createSigner("//Bob", "sr25519");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("rmb relay (spawned as a user runs it)", () => {
  let dir: string;
  let twins: string;
  let redis: RedisServerHandle;
  const running: RmbProcess[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rmb-relay-cli-"));
    twins = join(dir, "twins.json");
    writeFileSync(
      twins,
      JSON.stringify([
        { id: 1, account: hex(alice.publicKey), relays: ["relay.test"] },
        { id: 2, account: `0x${hex(bob.publicKey)}`, relays: ["relay.test"] },
      ]),
    );
    redis = await startRedisServer();
  });
  after(async () => {
    await Promise.all(running.map((p) => p.stop("SIGKILL")));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (...extra: string[]): Promise<{ proc: RmbProcess; port: number }> => {
    const proc = spawnRmb(["relay", "-m", "relay.test", "-l", "127.0.0.1:0", "--twins", twins, ...extra]);
    running.push(proc);
    const m = await proc.waitForStdout(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    return { proc, port: Number(m[1]) };
  };

  test("embedded mode: routes between two twins and stops cleanly on SIGTERM", async () => {
    const { proc, port } = await start();
    assert.match(proc.stdout(), /queues: embedded/);
    const a = await RelayTestClient.connect(port, alice, { twin: 1 });
    const b = await RelayTestClient.connect(port, bob, { twin: 2 });
    const req = requestEnvelope({ twin: 1 }, { twin: 2 });
    a.send(encode(req));
    assert.equal((await b.next()).env.uid, req.uid);
    assert.equal(await proc.stop("SIGTERM"), 0);
    assert.match(proc.stderr(), /SIGTERM: draining and stopping/);
    assert.equal((await b.closed()).code, 1001);
    await a.closed();
  });

  test("two relay processes on one Redis deliver to each other, and queued messages survive a restart", async () => {
    const first = await start("-r", redis.url);
    const second = await start("--redis", redis.url);
    assert.match(first.proc.stdout(), /queues: redis redis:\/\/127\.0\.0\.1:\d+/);
    const a = await RelayTestClient.connect(first.port, alice, { twin: 1 });
    const b = await RelayTestClient.connect(second.port, bob, { twin: 2 });
    const live = requestEnvelope({ twin: 1 }, { twin: 2 }, { uid: "live" });
    a.send(encode(live));
    assert.equal((await b.next()).env.uid, "live");
    await b.close();
    assert.equal(await second.proc.stop(), 0);
    // Bob is offline; his messages wait in Redis while no process serves him.
    for (let i = 0; i < 5; i++) a.send(encode(requestEnvelope({ twin: 1 }, { twin: 2 }, { uid: `q${i}` })));
    await new Promise((r) => setTimeout(r, 200));
    const third = await start("-r", redis.url);
    const b2 = await RelayTestClient.connect(third.port, bob, { twin: 2 });
    const got = await b2.waitFor(5);
    assert.deepEqual(
      got.map((r) => r.env.uid),
      ["q0", "q1", "q2", "q3", "q4"],
    );
    await a.close();
    await b2.close();
    assert.equal(await first.proc.stop(), 0);
    assert.equal(await third.proc.stop(), 0);
  });

  test("bad command lines exit 2 with the reason", async () => {
    const cases: [string[], RegExp][] = [
      [["relay", "--twins", "x"], /at least one --domain is required/],
      [["relay", "-m", "d"], /give one twin registry: --registry-data DIR/],
      [["relay", "-m", "d", "--twins", twins, "--registrar", "http://x"], /give one twin registry/],
      [["relay", "-m", "d", "--twins", twins, "-w", "0"], /invalid --workers '0'/],
      [["relay", "-m", "d", "--twins", twins, "--limit", "5"], /--limit takes two values/],
      [["relay", "-m", "d", "--twins", twins, "-l", "nonsense"], /invalid --listen 'nonsense'/],
      [["relay", "-m", "d", "-s", "ws://127.0.0.1:1", "--twins", twins], /give one twin registry/],
      [["relay", "-m", "d", "--twins", join(dir, "missing.json")], /cannot read --twins/],
      [["relay", "-m", "d", "--twins", twins, "--federation-url", "nodomain"], /expected DOMAIN=URL/],
      [["relay", "-m", "d", "--twins", twins, "--max-clock-skew", "1.5"], /invalid --max-clock-skew '1.5'/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runRmb(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });

  test("an invalid twins file or an unreachable Redis exits 1 with the error code", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify([{ id: 1, account: "not-a-key" }]));
    const r1 = await runRmb(["relay", "-m", "d", "-l", "127.0.0.1:0", "--twins", bad]);
    assert.equal(r1.code, 1);
    assert.match(
      r1.stderr,
      /twin 1: 'account' is neither 32 bytes of hex nor an SS58 address.*RMB_ERR_INVALID_TWIN/,
    );
    const r2 = await runRmb([
      "relay",
      "-m",
      "d",
      "-l",
      "127.0.0.1:0",
      "--twins",
      twins,
      "-r",
      "redis://127.0.0.1:1",
    ]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /cannot reach redis.*RMB_ERR_RELAY_STATE/);
  });

  test("--help lists rmb-relay's flags", async () => {
    const r = await runRmb(["relay", "--help"]);
    assert.equal(r.code, 0);
    for (const flag of [
      "--domain",
      "--redis",
      "--substrate",
      "--listen",
      "--workers",
      "--user-per-worker",
      "--limit",
      "--ranker-period",
      "--catchup-threshold",
      "--debug",
    ]) {
      assert.ok(r.stdout.includes(flag), flag);
    }
  });
});

test("a relay with --substrate reads twins from tfchain (a local fake node) and routes between them", async () => {
  const chain = await FakeSubstrate.start();
  const proc = spawnRmb([
    "relay",
    "-m",
    "relay.chain",
    "-l",
    "127.0.0.1:0",
    "-s",
    await deadUrl(),
    "-s",
    chain.url,
  ]);
  try {
    chain.putTwin({ id: 1, accountId: alice.publicKey, relays: ["relay.chain"] });
    chain.putTwin({ id: 2, accountId: bob.publicKey, relays: ["relay.chain"] });
    const port = Number((await proc.waitForStdout(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    assert.match(proc.stdout(), /tfchain: ws:\/\/127\.0\.0\.1:\d+/);
    await assertDelivers(port, [alice, 1], [bob, 2]);
  } finally {
    assert.equal(await proc.stop(), 0);
    await chain.stop();
  }
});

test("a relay with --substrate follows twin events; --catchup-threshold bounds what it replays after a reconnect", async () => {
  const chain = await FakeSubstrate.start();
  chain.putTwin({ id: 1, accountId: alice.publicKey, relays: ["relay.chain"] });
  chain.putTwin({ id: 2, accountId: bob.publicKey, relays: ["relay.chain"] });
  const proc = spawnRmb([
    "relay",
    "-m",
    "relay.chain",
    "-l",
    "127.0.0.1:0",
    "-s",
    chain.url,
    "--catchup-threshold",
    "2",
  ]);
  try {
    const port = Number((await proc.waitForStdout(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    await assertDelivers(port, [alice, 1], [bob, 2]); // both twins are in the relay's cache now
    const flushes = async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^rmb_cache_flushes_total (\d+)$/m.exec(metrics)?.[1]);
    };
    const eventsRead = (block: number) => waitUntil(async () => chain.eventReads.includes(block), 20_000);
    chain.produceBlock();
    await eventsRead(chain.bestNumber); // following events

    await chain.stop(); // 2 blocks missed: replayed
    chain.produceBlock();
    chain.produceBlock();
    await chain.restart();
    await eventsRead(chain.bestNumber - 1);
    await eventsRead(chain.bestNumber);
    assert.equal(await flushes(), 0, "within --catchup-threshold: replayed, the cache kept");

    await chain.stop(); // 3 blocks missed: more than the threshold
    for (let i = 0; i < 3; i++) chain.produceBlock();
    await chain.restart();
    await waitUntil(async () => (await flushes()) === 1, 20_000);
    assert.ok(!chain.eventReads.includes(chain.bestNumber - 1), "not replayed");
  } finally {
    assert.equal(await proc.stop(), 0);
    await chain.stop();
  }
});

test("parseListen accepts rmb-relay's address forms", () => {
  assert.deepEqual(parseListen("[::]:8080"), { host: "::", port: 8080 });
  assert.deepEqual(parseListen("0.0.0.0:80"), { host: "0.0.0.0", port: 80 });
  assert.deepEqual(parseListen(":8080"), { host: "::", port: 8080 });
  assert.deepEqual(parseListen("localhost:0"), { host: "localhost", port: 0 });
  for (const bad of ["8080", "[::]", "host:99999", "a:b"]) assert.throws(() => parseListen(bad));
});
