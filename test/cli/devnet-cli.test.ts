import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT, type RmbProcess, runRmb, spawnRmb } from "../support/cli.js";
import { type RedisServerHandle, startRedisServer } from "../support/redis-server.js";

interface Secrets {
  alice: { mnemonic: string; keyType: string };
  bob: { mnemonic: string; keyType: string };
  carol: { mnemonic: string; keyType: string };
}

describe("the quick start: npm start runs rmb devnet; rmb call and rmb serve against it", () => {
  let dir: string;
  let devnet: RmbProcess;
  let port: number;
  let secrets: Secrets;
  let conn: string[];
  const running: RmbProcess[] = [];

  before(async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      scripts: { start: string };
    };
    const [node, main, ...args] = pkg.scripts.start.split(" ");
    assert.equal(node, "node");
    assert.equal(main, "dist/src/cli/main.js");
    assert.deepEqual(args, ["devnet"]);
    dir = mkdtempSync(join(tmpdir(), "rmb-devnet-"));
    devnet = spawnRmb([...args, "-l", "127.0.0.1:0", "--data", dir]);
    port = Number((await devnet.waitForStdout(/relay and registry on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    await devnet.waitForStdout(/round trip alice → bob 'echo' in [\d.]+ ms/, 20_000);
    await devnet.waitForStdout(/Ctrl-C stops the devnet/);
    secrets = JSON.parse(readFileSync(join(dir, "twins.json"), "utf8")) as Secrets;
    conn = ["--relay", `ws://localhost:${port}`, "--registrar", `http://127.0.0.1:${port}`];
  });

  after(async () => {
    await Promise.all(running.map((p) => p.stop("SIGKILL")));
    await devnet?.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  test("devnet reports its URLs and twins, keeps secrets private, and prints commands that work as shown", async () => {
    const out = devnet.stdout();
    assert.match(out, /twins alice = 1 \(sr25519\), bob = 2 \(ed25519\), carol = 3 \(sr25519\)/);
    assert.match(out, new RegExp(`relay: {5}ws://localhost:${port}`));
    assert.equal(statSync(join(dir, "twins.json")).mode & 0o777, 0o600);
    // The first suggested call, as printed (with alice's secret in RMB_SECRET).
    const line = out.split("\n").find((l) => l.includes("npx rmb call 2 echo"));
    assert.ok(line, out);
    const echo = await runRmb(["call", "2", "echo", '{"hello":"world"}', ...conn, "-k", "sr25519"], {
      env: { RMB_SECRET: secrets.alice.mnemonic },
    });
    assert.equal(echo.code, 0, echo.stderr);
    assert.deepEqual(JSON.parse(echo.stdout), { hello: "world" });
    const time = await runRmb(["call", "2", "time", ...conn, "--json"], {
      env: { RMB_SECRET: secrets.alice.mnemonic },
    });
    const answer = JSON.parse(time.stdout) as { ok: boolean; data: string; source: { twin: number } };
    assert.equal(answer.ok, true);
    assert.ok(!Number.isNaN(Date.parse(answer.data)));
    assert.equal(answer.source.twin, 2);
  });

  test("rmb serve --exec answers through a shell command; errors and multiple destinations are reported", async () => {
    const serve = spawnRmb(
      [
        "serve",
        "my.upper",
        "my.fail",
        "--exec",
        'test "$RMB_COMMAND" = my.upper && tr a-z A-Z || { echo nope >&2; exit 3; }',
        ...conn,
      ],
      {
        RMB_SECRET: secrets.carol.mnemonic,
      },
    );
    running.push(serve);
    await serve.waitForStdout(/serving my\.upper, my\.fail \(exec: .*\) as twin 3 over/);
    const env = { RMB_SECRET: secrets.alice.mnemonic };
    const upper = await runRmb(["call", "3", "my.upper", "--text", "hello", ...conn], { env });
    assert.equal(upper.code, 0, upper.stderr);
    assert.equal(upper.stdout, "HELLO\n");
    const failed = await runRmb(["call", "3", "my.fail", "--text", "x", ...conn], { env });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /error 255 \(from twin 3\): nope/);
    const many = await runRmb(["call", "2,3,99", "echo", "[1]", ...conn, "--json", "-t", "5"], { env });
    assert.equal(many.code, 1);
    const results = JSON.parse(many.stdout) as {
      twin: number;
      ok: boolean;
      data?: unknown;
      error?: { code: number };
    }[];
    assert.deepEqual(
      results.map((r) => [r.twin, r.ok, r.ok ? r.data : r.error?.code]),
      [
        [2, true, [1]],
        [3, false, 500],
        [99, false, 103],
      ],
    );
    assert.equal(await serve.stop("SIGINT"), 0);
  });

  test("rmb serve in its default echo mode answers each request with its own payload and schema", async () => {
    const serve = spawnRmb(["serve", "my.echo", ...conn], { RMB_SECRET: secrets.carol.mnemonic });
    running.push(serve);
    await serve.waitForStdout(/serving my\.echo \(echo\) as twin 3 over ws:\/\/localhost:\d+; Ctrl-C stops/);
    const env = { RMB_SECRET: secrets.alice.mnemonic };
    const json = await runRmb(["call", "3", "my.echo", '{"a":[1,2]}', ...conn], { env });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { a: [1, 2] });
    const plain = await runRmb(["call", "3", "my.echo", "--text", "plain words", ...conn, "--json"], { env });
    assert.equal(plain.code, 0, plain.stderr);
    const answer = JSON.parse(plain.stdout) as { ok: boolean; data: string; schema: string };
    assert.deepEqual([answer.ok, answer.data, answer.schema], [true, "plain words", "text/plain"]);
    assert.equal(await serve.stop("SIGTERM"), 0);
    assert.match(serve.stderr(), /SIGTERM: stopping after 2 request\(s\)/);
  });

  test("rmb serve --json prints a ready line, one line per request handled and a stopped line", async () => {
    const serve = spawnRmb(["serve", "my.echo", "my.other", "--json", ...conn], {
      RMB_SECRET: secrets.carol.mnemonic,
    });
    running.push(serve);
    const ready = JSON.parse((await serve.waitForStdout(/^(\{"type":"ready".*\})$/m))[1] as string);
    assert.deepEqual(ready, {
      type: "ready",
      commands: ["my.echo", "my.other"],
      mode: "echo",
      exec: null,
      via: "relay",
      twin: 3,
      connection: `as twin 3 over ws://localhost:${port}`,
    });
    const env = { RMB_SECRET: secrets.alice.mnemonic };
    const r = await runRmb(["call", "3", "my.other", '{"b":true}', ...conn], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { b: true });
    const handled = JSON.parse((await serve.waitForStdout(/^(\{"type":"request".*\})$/m))[1] as string) as {
      uid: string;
      ms: number;
    };
    assert.match(handled.uid, /^[0-9a-f-]{36}$/);
    assert.ok(handled.ms >= 0);
    assert.deepEqual(
      { ...handled, uid: undefined, ms: undefined },
      {
        type: "request",
        command: "my.other",
        source: { twin: 1, session: null },
        uid: undefined,
        ok: true,
        schema: "application/json",
        bytes: '{"b":true}'.length,
        ms: undefined,
      },
    );
    assert.equal(await serve.stop("SIGINT"), 0);
    const lines = serve
      .stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual(
      lines.map((l) => l.type),
      ["ready", "request", "stopped"],
    );
    assert.deepEqual(lines[2], { type: "stopped", signal: "SIGINT", served: 1 });

    // A failing --exec handler: the request line carries the error the caller gets.
    const failing = spawnRmb(["serve", "my.fail", "--json", "--exec", "echo nope >&2; exit 3", ...conn], {
      RMB_SECRET: secrets.carol.mnemonic,
    });
    running.push(failing);
    const ready2 = JSON.parse((await failing.waitForStdout(/^(\{"type":"ready".*\})$/m))[1] as string);
    assert.deepEqual([ready2.mode, ready2.exec], ["exec", "echo nope >&2; exit 3"]);
    const failed = await runRmb(["call", "3", "my.fail", ...conn], { env });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /error 255 \(from twin 3\): nope/);
    const line = JSON.parse((await failing.waitForStdout(/^(\{"type":"request".*\})$/m))[1] as string);
    assert.deepEqual([line.command, line.ok, line.error], ["my.fail", false, { code: 255, message: "nope" }]);
    assert.equal(await failing.stop("SIGTERM"), 0);
  });

  test("the examples: a TypeScript service and client against the devnet", async () => {
    const { spawn } = await import("node:child_process");
    const env = {
      ...process.env,
      RMB_RELAY: `ws://localhost:${port}`,
      RMB_REGISTRAR: `http://127.0.0.1:${port}`,
    };
    const service = spawn(process.execPath, [join(REPO_ROOT, "dist", "examples", "service.js")], {
      env: { ...env, RMB_SECRET: secrets.carol.mnemonic },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = "";
        service.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("serves calc.add")) resolve();
        });
        service.once("exit", (code) => reject(new Error(`service exited ${code}`)));
      });
      const client = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const c = spawn(process.execPath, [join(REPO_ROOT, "dist", "examples", "client.js"), "3"], {
          env: { ...env, RMB_SECRET: secrets.alice.mnemonic },
          stdio: ["ignore", "pipe", "inherit"],
        });
        let out = "";
        c.stdout.on("data", (d: Buffer) => {
          out += d.toString();
        });
        c.once("close", (code) => resolve({ code, out }));
      });
      assert.equal(client.code, 0);
      assert.equal(
        client.out,
        [
          "2 + 3 = 5",
          "1 / 0 → error 400: division by zero",
          "twin 3: 2",
          "twin 999999: unknown twin id '999999'",
          "",
        ].join("\n"),
      );
    } finally {
      const exited = new Promise((r) => service.once("exit", r));
      service.kill("SIGTERM");
      await exited;
    }
  });

  test("usage errors are clear", async () => {
    const noConn = await runRmb(["call", "2", "echo"]);
    assert.equal(noConn.code, 2);
    assert.match(noConn.stderr, /give --peer <REDIS_URL> or --relay <URL>/);
    const badJson = await runRmb(["call", "2", "echo", "{oops", ...conn]);
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /<data> is not JSON/);
    const badTwin = await runRmb(["call", "x", "echo", ...conn]);
    assert.match(badTwin.stderr, /invalid twin list 'x'/);
    const noCmd = await runRmb(["serve", ...conn]);
    assert.match(noCmd.stderr, /give at least one command to serve/);
  });

  test("a second devnet on the same data reuses the twins; SIGTERM stops it cleanly", async () => {
    assert.equal(
      await devnet.stop("SIGTERM"),
      0,
      `signal ${devnet.child.signalCode}; stderr: ${devnet.stderr()}`,
    );
    const again = spawnRmb(["devnet", "-l", "127.0.0.1:0", "--data", dir, "--json"]);
    running.push(again);
    const m = await again.waitForStdout(/^(\{.*\})$/m, 20_000);
    const ready = JSON.parse(m[1] as string) as {
      twins: Record<string, { id: number; mnemonic: string }>;
      roundTripMs: number;
    };
    assert.equal(ready.twins.alice?.id, 1);
    assert.equal(ready.twins.alice?.mnemonic, secrets.alice.mnemonic);
    assert.equal(ready.twins.carol?.id, 3);
    assert.ok(ready.roundTripMs > 0);
    assert.equal(await again.stop("SIGTERM"), 0);
  });
});

describe("rmb call and rmb serve through rmb-peer (--peer)", () => {
  let redis: RedisServerHandle;
  let dir: string;
  const running: RmbProcess[] = [];
  before(async () => {
    redis = await startRedisServer();
    dir = mkdtempSync(join(tmpdir(), "rmb-devnet-peer-"));
  });
  after(async () => {
    await Promise.all(running.map((p) => p.stop("SIGKILL")));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a service behind one rmb-peer answers a client behind another", async () => {
    const devnet = spawnRmb(["devnet", "-l", "127.0.0.1:0", "--data", dir, "-r", redis.url]);
    running.push(devnet);
    const port = Number(
      (await devnet.waitForStdout(/relay and registry on http:\/\/127\.0\.0\.1:(\d+) \(queues: redis/))[1],
    );
    await devnet.waitForStdout(/Ctrl-C stops the devnet/, 20_000);
    const secrets = JSON.parse(readFileSync(join(dir, "twins.json"), "utf8")) as Secrets;
    const registry = ["--registrar", `http://127.0.0.1:${port}`, "--relay", `ws://localhost:${port}`];
    // carol's rmb-peer on db 3 with a service; alice's rmb-peer on db 4 with a client.
    const peerC = spawnRmb(["peer", "-k", "sr25519", ...registry, "-r", `${redis.url}/3`], {
      RMB_SECRET: secrets.carol.mnemonic,
    });
    const peerA = spawnRmb(["peer", "-k", "sr25519", ...registry, "-r", `${redis.url}/4`], {
      RMB_SECRET: secrets.alice.mnemonic,
    });
    running.push(peerC, peerA);
    await peerC.waitForStdout(/rmb-peer running as twin 3/);
    await peerA.waitForStdout(/rmb-peer running as twin 1/);
    const serve = spawnRmb([
      "serve",
      "greet",
      "--exec",
      'printf "\\"hi %s\\"" "$RMB_SOURCE"',
      "--peer",
      `${redis.url}/3`,
    ]);
    running.push(serve);
    await serve.waitForStdout(/serving greet .* through rmb-peer/);
    const r = await runRmb(["call", "3", "greet", "--peer", `${redis.url}/4`, "-t", "10"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '"hi 1"');
  });
});
