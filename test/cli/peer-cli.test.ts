import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { generateMnemonic, KeyType, loadIdentity } from "../../src/identity/index.js";
import { type JsonEcho, startJsonEcho } from "../../src/peer/index.js";
import { type RmbProcess, runRmb, spawnRmb } from "../support/cli.js";
import { deadUrl, FakeSubstrate } from "../support/fake-substrate.js";
import { randomSeed } from "../support/peer-net.js";
import { type RedisServerHandle, startRedisServer } from "../support/redis-server.js";
import { waitUntil } from "../support/wait.js";

/** Resolves once `pattern` appears in the process's standard error (logs go there). */
async function waitForStderr(p: RmbProcess, pattern: RegExp, timeoutMs = 15_000): Promise<void> {
  await waitUntil(async () => {
    if (p.child.exitCode !== null) throw new Error(`rmb exited (${p.child.exitCode}): ${p.stderr()}`);
    return pattern.test(p.stderr());
  }, timeoutMs).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}: ${pattern} not in stderr: ${p.stderr()}`);
  });
}

const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("rmb peer and rmb tester (spawned as a user runs them)", () => {
  let dir: string;
  let redis: RedisServerHandle;
  let relay: RmbProcess;
  let registrar: string;
  let relayUrl: string;
  const running: RmbProcess[] = [];
  const echoes: JsonEcho[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rmb-peer-cli-"));
    redis = await startRedisServer();
    relay = spawnRmb([
      "relay",
      "-m",
      "localhost",
      "-l",
      "127.0.0.1:0",
      "--registry-data",
      join(dir, "registry"),
    ]);
    const port = Number((await relay.waitForStdout(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    registrar = `http://127.0.0.1:${port}`;
    relayUrl = `ws://localhost:${port}`;
  });
  after(async () => {
    for (const e of echoes) await e.stop();
    await Promise.all(running.map((p) => p.stop("SIGKILL")));
    await relay?.stop("SIGKILL");
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function createTwin(secret: string, keyType: string): Promise<number> {
    const r = await runRmb([
      "twin",
      "create",
      "--registrar",
      registrar,
      "-m",
      secret,
      "-k",
      keyType,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { id: number }).id;
  }

  test("two peers registered with rmb twin exchange requests through the relay; rmb tester counts them", async () => {
    const s1 = randomSeed();
    const s2 = randomSeed();
    const t1 = await createTwin(s1, "ed25519");
    const t2 = await createTwin(s2, "sr25519");
    const db1 = `${redis.url}/1`;
    const db2 = `${redis.url}/2`;
    const p1 = spawnRmb(["peer", "-k", "ed25519", "--registrar", registrar, "--relay", relayUrl, "-r", db1], {
      RMB_SECRET: s1,
    });
    const p2 = spawnRmb([
      "peer",
      "--seed",
      s2,
      "--registrar",
      registrar,
      "--relay",
      relayUrl,
      "--redis",
      db2,
    ]);
    running.push(p1, p2);
    await p1.waitForStdout(new RegExp(`rmb-peer running as twin ${t1} `));
    await p2.waitForStdout(new RegExp(`rmb-peer running as twin ${t2} `));
    // At start each peer published its relay domain and encryption key.
    const shown = await runRmb(["twin", "show", String(t2), "--registrar", registrar, "--json"]);
    const record = JSON.parse(shown.stdout) as { relays: string[]; pk: string | null };
    assert.deepEqual(record.relays, ["localhost"]);
    assert.match(record.pk ?? "", /^0[23][0-9a-f]{64}$/);

    echoes.push(await startJsonEcho(db2, "testme"));
    const waitConnected = async () => {
      for (let i = 0; i < 100 && !/now connected/.test(p1.stderr() + p2.stderr()); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitConnected();
    const run = await runRmb(["tester", "-r", db1, "--dst", String(t2), "-n", "50", "-t", "20", "--json"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as {
      received: number;
      errors: number;
      responsesByTwin: Record<string, number>;
    };
    assert.equal(report.received, 50);
    assert.equal(report.errors, 0);
    assert.equal(report.responsesByTwin[String(t2)], 50);

    const human = await runRmb(["tester", "-r", db1, "--dst", `${t2},999`, "-t", "5"]);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /received: {3}2 of 2/);
    assert.match(human.stdout, /103: unknown twin id '999'/);

    assert.equal(await p1.stop("SIGTERM"), 0);
    assert.equal(await p2.stop("SIGINT"), 0);
    assert.match(p1.stderr(), /SIGTERM: stopping/);
    // Its counters on the way out: the 50 + 2 requests of the testers went out and came back.
    const stats = JSON.parse(/INFO +stats (\{.*\})$/m.exec(p1.stderr())?.[1] ?? "null") as {
      localRequests: number;
      responsesDelivered: number;
      duplicates: number;
    };
    assert.equal(stats.localRequests, 51);
    assert.equal(stats.duplicates, 0);
  });

  test("a key without a twin, an IP relay URL, too many relays and two secrets are clear errors", async () => {
    const lonely = await runRmb([
      "peer",
      "-m",
      randomSeed(),
      "--registrar",
      registrar,
      "--relay",
      relayUrl,
      "-r",
      redis.url,
    ]);
    assert.equal(lonely.code, 1);
    assert.match(lonely.stderr, /no twin found on this network with given key/);

    const s = randomSeed();
    await createTwin(s, "sr25519");
    const ip = await runRmb([
      "peer",
      "-m",
      s,
      "--registrar",
      registrar,
      "--relay",
      "ws://127.0.0.1:1",
      "-r",
      redis.url,
    ]);
    assert.equal(ip.code, 1);
    assert.match(ip.stderr, /must name its relay by domain.*--no-update/);

    const many = [
      "--relay",
      "ws://a",
      "--relay",
      "ws://b",
      "--relay",
      "ws://c",
      "--relay",
      "ws://d",
      "--relay",
      "ws://e",
    ];
    const tooMany = await runRmb(["peer", "-m", s, "--registrar", registrar, ...many]);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /at most 4 --relay/);

    const two = await runRmb(["peer", "-m", s, "--seed", s, "--registrar", registrar]);
    assert.equal(two.code, 2);
    assert.match(two.stderr, /give one of --mnemonic, --mnemonics, --seed/);

    const skew = await runRmb(["peer", "-m", s, "--registrar", registrar, "--max-clock-skew", "soon"]);
    assert.equal(skew.code, 2);
    assert.match(skew.stderr, /invalid --max-clock-skew 'soon'/);

    const noRedis = await runRmb([
      "peer",
      "-m",
      s,
      "--registrar",
      registrar,
      "--relay",
      relayUrl,
      "--no-update",
      "-r",
      "redis://127.0.0.1:1",
    ]);
    assert.equal(noRedis.code, 1);
    assert.match(noRedis.stderr, /cannot reach Redis/);
  });

  test("--help lists rmb-peer's flags and ours", async () => {
    const r = await runRmb(["peer", "--help"]);
    assert.equal(r.code, 0);
    for (const flag of [
      "-m, --mnemonic",
      "--mnemonics",
      "--seed",
      "-k, --key-type",
      "-r, --redis",
      "-s, --substrate",
      "--relay",
      "--no-update",
      "-u, --uploads",
      "-d, --debug",
      "--registrar",
      "--twins",
      "--twin-id",
    ]) {
      assert.ok(r.stdout.includes(flag), `${flag} in:\n${r.stdout}`);
    }
  });

  test("--mnemonic with a BIP-39 phrase, the deprecated --mnemonics and --key-type in any case (as rmb-peer)", async () => {
    const phrase1 = generateMnemonic(12);
    const phrase2 = generateMnemonic(24);
    const t1 = await createTwin(phrase1, "sr25519");
    const t2 = await createTwin(phrase2, "ed25519");
    const ss58 = (phrase: string, keyType: KeyType) => loadIdentity(phrase, keyType).ss58;
    const p1 = spawnRmb([
      "peer",
      "--mnemonic",
      phrase1,
      "--key-type",
      "sr25519",
      "--registrar",
      registrar,
      "--relay",
      relayUrl,
      "-r",
      `${redis.url}/3`,
    ]);
    const p2 = spawnRmb([
      "peer",
      "--mnemonics",
      phrase2,
      "--key-type",
      "Ed25519",
      "--registrar",
      registrar,
      "--relay",
      relayUrl,
      "-r",
      `${redis.url}/4`,
    ]);
    running.push(p1, p2);
    // The twin was found by the account the phrase and key type give.
    await p1.waitForStdout(
      new RegExp(`rmb-peer running as twin ${t1} \\(${literal(ss58(phrase1, KeyType.Sr25519))}, sr25519\\)`),
    );
    await p2.waitForStdout(
      new RegExp(`rmb-peer running as twin ${t2} \\(${literal(ss58(phrase2, KeyType.Ed25519))}, ed25519\\)`),
    );
    await waitForStderr(p1, /now connected to relay/);
    await waitForStderr(p2, /now connected to relay/);
    // And the keys work: a signed, encrypted round trip between the two.
    echoes.push(await startJsonEcho(`${redis.url}/4`, "testme"));
    const run = await runRmb([
      "tester",
      "-r",
      `${redis.url}/3`,
      "--dst",
      String(t2),
      "-n",
      "3",
      "-t",
      "20",
      "--json",
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal((JSON.parse(run.stdout) as { received: number }).received, 3);
    assert.equal(await p1.stop("SIGTERM"), 0);
    assert.equal(await p2.stop("SIGTERM"), 0);

    const bad = await runRmb(["peer", "-m", phrase1, "--key-type", "ecdsa", "--registrar", registrar]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid --key-type 'ecdsa': expected ed25519 or sr25519/);
  });

  test("two --relay URLs: the peer connects to both relays", async () => {
    const second = spawnRmb(["relay", "-m", "localhost", "-l", "127.0.0.1:0", "--registrar", registrar]);
    running.push(second);
    const port2 = Number((await second.waitForStdout(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    const relay2 = `ws://localhost:${port2}`;
    const secret = randomSeed();
    const id = await createTwin(secret, "sr25519");
    const p = spawnRmb([
      "peer",
      "-m",
      secret,
      "--registrar",
      registrar,
      "--relay",
      relayUrl,
      "--relay",
      relay2,
      "-r",
      `${redis.url}/5`,
    ]);
    running.push(p);
    await p.waitForStdout(
      new RegExp(`rmb-peer running as twin ${id} .*relays ${literal(relayUrl)}, ${literal(relay2)}`),
    );
    await waitForStderr(p, new RegExp(`now connected to relay ${literal(relayUrl)}`));
    await waitForStderr(p, new RegExp(`now connected to relay ${literal(relay2)}`));
    // Both URLs name the host localhost: the record lists it once.
    const shown = await runRmb(["twin", "show", String(id), "--registrar", registrar, "--json"]);
    assert.deepEqual((JSON.parse(shown.stdout) as { relays: string[] }).relays, ["localhost"]);
    assert.equal(await p.stop("SIGTERM"), 0);
    assert.equal(await second.stop("SIGTERM"), 0);
  });

  test("-s repeated (failover) on a tfchain node: the peer finds its twin and updates a stale record; --no-update leaves it", async () => {
    const chain = await FakeSubstrate.start();
    const chainRelay = spawnRmb(["relay", "-m", "localhost", "-l", "127.0.0.1:0", "-s", chain.url]);
    try {
      const port = Number((await chainRelay.waitForStdout(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
      const url = `ws://localhost:${port}`;
      const text = (bytes: Uint8Array | undefined) =>
        bytes === undefined ? undefined : Buffer.from(bytes).toString();

      const secret = randomSeed();
      const identity = loadIdentity(secret, KeyType.Sr25519);
      chain.putTwin({ id: 41, accountId: identity.publicKey, relays: ["old.relay.example"] });
      const updater = spawnRmb([
        "peer",
        "-m",
        secret,
        "-s",
        await deadUrl(),
        "-s",
        chain.url,
        "--relay",
        url,
        "-r",
        `${redis.url}/6`,
      ]);
      running.push(updater);
      await updater.waitForStdout(
        /rmb-peer running as twin 41 .*tfchain: ws:\/\/127\.0\.0\.1:\d+, ws:\/\/127\.0\.0\.1:\d+/,
        30_000,
      );
      const updated = chain.twin(41);
      assert.equal(text(updated?.relay), "localhost");
      assert.deepEqual(updated?.pk, identity.e2e?.publicKey);
      const mine = chain.applied.filter((x) =>
        Buffer.from(x.accountId).equals(Buffer.from(identity.publicKey)),
      );
      assert.deepEqual(
        mine.map((x) => [x.call, x.ok]),
        [["updateTwin", true]],
      );
      await waitForStderr(updater, new RegExp(`now connected to relay ${literal(url)}`));
      assert.equal(await updater.stop("SIGTERM"), 0);

      const secret2 = randomSeed();
      const identity2 = loadIdentity(secret2, KeyType.Sr25519);
      chain.putTwin({ id: 42, accountId: identity2.publicKey, relays: ["stale.relay.example"] });
      const keeper = spawnRmb([
        "peer",
        "-m",
        secret2,
        "-s",
        chain.url,
        "--relay",
        url,
        "--no-update",
        "-r",
        `${redis.url}/7`,
      ]);
      running.push(keeper);
      await keeper.waitForStdout(/rmb-peer running as twin 42 /, 30_000);
      await waitForStderr(keeper, new RegExp(`now connected to relay ${literal(url)}`));
      const kept = chain.twin(42);
      assert.equal(text(kept?.relay), "stale.relay.example");
      assert.equal(kept?.pk, undefined);
      assert.ok(
        !chain.applied.some((x) => Buffer.from(x.accountId).equals(Buffer.from(identity2.publicKey))),
        "no transaction from the --no-update peer",
      );
      assert.equal(await keeper.stop("SIGTERM"), 0);
    } finally {
      await chainRelay.stop("SIGKILL");
      await chain.stop();
    }
  });
});
