import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createSigner, DEV_PHRASE } from "../../src/identity/index.js";
import { type RmbProcess, runRmb, spawnRmb } from "../support/cli.js";
import { deadUrl, FakeSubstrate } from "../support/fake-substrate.js";
import { startPostgresServer } from "../support/postgres-server.js";
import { assertDelivers } from "../support/relay-client.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("rmb registry and rmb twin (spawned as a user runs them)", () => {
  let dir: string;
  const running: RmbProcess[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "rmb-registry-cli-"));
  });
  after(async () => {
    await Promise.all(running.map((p) => p.stop("SIGKILL")));
    rmSync(dir, { recursive: true, force: true });
  });

  const startRegistry = async (...args: string[]): Promise<{ proc: RmbProcess; url: string }> => {
    const proc = spawnRmb(["registry", "-l", "127.0.0.1:0", ...args]);
    running.push(proc);
    const m = await proc.waitForStdout(/listening on (http:\/\/127\.0\.0\.1:\d+)\/v1\/accounts/);
    return { proc, url: m[1] as string };
  };

  test("create, show and update a twin; the registry keeps it across a restart", async () => {
    const data = join(dir, "store");
    let { proc, url } = await startRegistry("--data", data);
    assert.match(proc.stdout(), /store: file /);
    const created = await runRmb([
      "twin",
      "create",
      "--registrar",
      url,
      "-m",
      DEV_PHRASE,
      "--relay",
      "r1.example",
      "--json",
    ]);
    assert.equal(created.code, 0, created.stderr);
    const twin = JSON.parse(created.stdout) as {
      id: number;
      account: string;
      relays: string[];
      pk: string | null;
    };
    const signer = createSigner(DEV_PHRASE, "sr25519");
    assert.deepEqual(twin.id, 1);
    assert.equal(twin.account, hex(signer.publicKey));
    assert.deepEqual(twin.relays, ["r1.example"]);
    assert.match(twin.pk ?? "", /^0[23][0-9a-f]{64}$/, "a bare mnemonic gives an encryption key");

    const again = await runRmb(["twin", "create", "--registrar", url, "-m", DEV_PHRASE]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists.*RMB_ERR_TWIN_EXISTS/);

    const updated = await runRmb(
      ["twin", "update", "--registrar", url, "-m", "-", "--relay", "r2.example", "--relay", "r3.example"],
      {
        stdin: DEV_PHRASE,
      },
    );
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /twin 1 updated\nid: +1\n/);
    assert.match(updated.stdout, /relays: +r2\.example, r3\.example/);
    const updatedJson = await runRmb(
      ["twin", "update", "--registrar", url, "--relay", "r4.example", "--relay", "r5.example", "--json"],
      { env: { RMB_SECRET: DEV_PHRASE } },
    );
    assert.equal(updatedJson.code, 0, updatedJson.stderr);
    assert.deepEqual(JSON.parse(updatedJson.stdout), {
      id: 1,
      account: hex(signer.publicKey),
      relays: ["r4.example", "r5.example"],
      pk: twin.pk,
    });
    const back = await runRmb([
      "twin",
      "update",
      "--registrar",
      url,
      "-m",
      DEV_PHRASE,
      "--relay",
      "r2.example",
      "--relay",
      "r3.example",
    ]);
    assert.equal(back.code, 0, back.stderr);

    assert.equal(await proc.stop(), 0);
    ({ proc, url } = await startRegistry("--data", data));
    const shown = await runRmb(["twin", "show", "1", "--json"], { env: { RMB_REGISTRAR: url } });
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual((JSON.parse(shown.stdout) as { relays: string[] }).relays, ["r2.example", "r3.example"]);
    const byAccount = await runRmb(["twin", "show", "--registrar", url, "--account", hex(signer.publicKey)]);
    assert.match(byAccount.stdout, /^id: +1$/m);
    const missing = await runRmb(["twin", "show", "--registrar", url, "7"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such twin/);
  });

  test("a relay with --registrar serves the twins of a registry process", async () => {
    const { url } = await startRegistry("--data", join(dir, "relay-store"));
    for (const [secret, type] of [
      ["//Alice", "ed25519"],
      ["//Bob", "sr25519"],
    ] as const) {
      const r = await runRmb([
        "twin",
        "create",
        "--registrar",
        url,
        "-m",
        secret,
        "-k",
        type,
        "--relay",
        "relay.test",
      ]);
      assert.equal(r.code, 0, r.stderr);
    }
    const relay = spawnRmb(["relay", "-m", "relay.test", "-l", "127.0.0.1:0", "--registrar", url]);
    running.push(relay);
    const port = Number((await relay.waitForStdout(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    assert.match(relay.stdout(), /registrar: http:\/\/127\.0\.0\.1:\d+\/v1/);
    await assertDelivers(
      port,
      [createSigner("//Alice", "ed25519"), 1],
      [createSigner("//Bob", "sr25519"), 2],
    );
    assert.equal(await relay.stop(), 0);
  });

  test("the registry on PostgreSQL", async () => {
    const pg = await startPostgresServer();
    try {
      const { proc, url } = await startRegistry("--postgres", pg.url);
      assert.match(proc.stdout(), /store: postgres postgres:\/\/\*\*\*@127\.0\.0\.1/);
      const r = await runRmb(["twin", "create", "--registrar", url, "-m", "//Carol", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        (JSON.parse(r.stdout) as { pk: unknown }).pk,
        null,
        "derivation paths give no encryption key",
      );
      assert.equal(await proc.stop(), 0);
    } finally {
      await pg.stop();
    }
  });

  test("rmb twin --substrate creates, shows and updates twins on tfchain (a local fake node)", async () => {
    const chain = await FakeSubstrate.start();
    try {
      const signer = createSigner(DEV_PHRASE, "sr25519");
      chain.acceptTerms(signer.publicKey);
      chain.putTwin({ id: 1, accountId: new Uint8Array(32).fill(1), relays: ["someone.example"] });
      const dead = await deadUrl();
      const created = await runRmb([
        "twin",
        "create",
        "-s",
        dead,
        "--substrate",
        chain.url,
        "-m",
        DEV_PHRASE,
        "--relay",
        "r1.example",
        "--json",
      ]);
      assert.equal(created.code, 0, created.stderr);
      const twin = JSON.parse(created.stdout) as {
        id: number;
        account: string;
        relays: string[];
        pk: string;
      };
      assert.deepEqual(
        { ...twin, pk: undefined },
        {
          id: 2,
          account: hex(signer.publicKey),
          relays: ["r1.example"],
          pk: undefined,
        },
      );
      assert.match(twin.pk, /^0[23][0-9a-f]{64}$/);
      const onChain = chain.twin(2);
      assert.equal(new TextDecoder().decode(onChain?.relay), "r1.example");
      assert.equal(hex(onChain?.pk ?? new Uint8Array()), twin.pk, "the e2e key rmb-peer derives");
      assert.deepEqual(
        chain.applied.map((a) => [a.call, a.ok, a.signatureKind]),
        [["createTwin", true, 1]],
        "one signed sr25519 createTwin extrinsic",
      );

      const updated = await runRmb(
        [
          "twin",
          "update",
          "-s",
          chain.url,
          "-m",
          "-",
          "--relay",
          "r2.example",
          "--relay",
          "r3.example",
          "--json",
        ],
        { stdin: DEV_PHRASE },
      );
      assert.equal(updated.code, 0, updated.stderr);
      assert.deepEqual(JSON.parse(updated.stdout), { ...twin, relays: ["r2.example", "r3.example"] });
      assert.equal(new TextDecoder().decode(chain.twin(2)?.relay), "r2.example_r3.example");

      const shown = await runRmb(["twin", "show", "-s", chain.url, "2"]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /^id: +2$/m);
      assert.match(shown.stdout, /^relays: +r2\.example, r3\.example$/m);
      const byAccount = await runRmb([
        "twin",
        "show",
        "-s",
        chain.url,
        "--account",
        hex(signer.publicKey),
        "--json",
      ]);
      assert.equal((JSON.parse(byAccount.stdout) as { id: number }).id, 2);
      const bySecret = await runRmb(["twin", "show", "-s", chain.url, "--json"], {
        env: { RMB_SECRET: DEV_PHRASE },
      });
      assert.equal((JSON.parse(bySecret.stdout) as { id: number }).id, 2);
      const missing = await runRmb(["twin", "show", "-s", chain.url, "9", "--json"]);
      assert.deepEqual([missing.code, missing.stdout.trim()], [1, "null"]);

      const again = await runRmb(["twin", "create", "-s", chain.url, "-m", DEV_PHRASE]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /RMB_ERR_TWIN_EXISTS/);
      const noTerms = await runRmb(["twin", "create", "-s", chain.url, "-m", "//Eve"]);
      assert.equal(noTerms.code, 1);
      assert.match(noTerms.stderr, /terms and conditions.*RMB_ERR_REGISTRY_REJECTED/);
      const stranger = await runRmb([
        "twin",
        "update",
        "-s",
        chain.url,
        "-m",
        "//Eve",
        "--relay",
        "xx.example",
      ]);
      assert.equal(stranger.code, 1);
      assert.match(stranger.stderr, /RMB_ERR_TWIN_NOT_FOUND/);
      assert.equal(chain.applied.length, 2, "refused commands submit nothing");
    } finally {
      await chain.stop();
    }
  });

  test("bad command lines exit 2 with the reason", async () => {
    const cases: [string[], RegExp][] = [
      [["registry", "--data", "a", "--postgres", "b"], /give --data or --postgres, not both/],
      [["registry", "--max-relays", "0"], /invalid --max-relays/],
      [["twin", "frobnicate"], /unknown 'twin' command/],
      [["twin", "show", "1"], /missing --registrar <URL> \(or \$RMB_REGISTRAR\) or --substrate <URL>/],
      [["twin", "show", "--registrar", "http://127.0.0.1:1", "-s", "ws://127.0.0.1:1", "1"], /not both/],
      [["twin", "show", "--registrar", "http://127.0.0.1:1", "x"], /invalid twin id 'x'/],
      [["twin", "create", "--registrar", "http://127.0.0.1:1"], /missing secret/],
      [
        ["twin", "create", "--registrar", "http://127.0.0.1:1", "-m", "//A", "-k", "rsa"],
        /invalid --key-type/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await runRmb(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
    const down = await runRmb(["twin", "show", "--registrar", "http://127.0.0.1:1", "1"]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /unreachable.*RMB_ERR_REGISTRY_UNAVAILABLE/);
  });
});
