import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type JsonEcho, startJsonEcho } from "../../src/peer/index.js";
import { type RmbProcess, runRmb, spawnRmb } from "../support/cli.js";
import { randomSeed } from "../support/peer-net.js";
import { type RedisServerHandle, startRedisServer } from "../support/redis-server.js";

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
});
