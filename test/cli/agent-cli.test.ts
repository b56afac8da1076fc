import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type RmbProcess, runRmb, spawnRmb } from "../support/cli.js";
import { randomSeed } from "../support/peer-net.js";

describe("rmb agent and rmb search: P2P agents as real processes over a real relay", () => {
  let dir: string;
  let relay: RmbProcess;
  let conn: string[];
  const running: RmbProcess[] = [];
  const twins: { id: number; secret: string }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rmb-agents-"));
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
    conn = ["--relay", `ws://localhost:${port}`, "--registrar", `http://127.0.0.1:${port}`];
    for (let i = 0; i < 5; i++) {
      const secret = randomSeed();
      const r = await runRmb([
        "twin",
        "create",
        "--registrar",
        `http://127.0.0.1:${port}`,
        "-m",
        secret,
        "--relay",
        "localhost",
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      twins.push({ id: (JSON.parse(r.stdout) as { id: number }).id, secret });
    }
  });

  after(async () => {
    await Promise.all(running.map((p) => p.stop("SIGKILL")));
    await relay?.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  const startAgent = async (index: number, tags: string | undefined, bootstrap: number[]) => {
    const t = twins[index]!;
    const args = [
      "agent",
      ...conn,
      "--bootstrap",
      bootstrap.join(","),
      ...(tags === undefined ? [] : ["--tags", tags]),
    ];
    const proc = spawnRmb(args, { RMB_SECRET: t.secret });
    running.push(proc);
    await proc.waitForStdout(new RegExp(`agent running as twin ${t.id} `), 20_000);
    return proc;
  };

  test("agents join, find each other's services by tag, and notice a killed agent", async () => {
    const ids = twins.map((t) => t.id);
    const a = await startAgent(0, "category=barber,location=ghent,adjective=trusted", []);
    const b = await startAgent(1, "category=baker,location=brussels", [ids[0]!]);
    const c = await startAgent(2, "category=barber,location=antwerp", [ids[0]!]);
    const d = await startAgent(3, "category=florist", [ids[1]!]);
    // Everyone learns about everyone through the bootstrap agent and the membership gossip.
    for (const p of [a, b, c, d]) {
      for (const other of ids.slice(0, 4)) {
        if (p === [a, b, c, d][ids.indexOf(other)]) continue;
        await p.waitForStdout(new RegExp(`member ${other}: .*→ alive`), 20_000);
      }
    }
    const env = { RMB_SECRET: twins[4]!.secret };
    // Agents announce their record to the tag's home agents every few protocol periods (`announcePeriods`): a
    // search right after the joins may see one barber; within a few periods it sees both.
    let answer: { hops: number; results: { twin: number; tags: { location?: string } }[] } = {
      hops: 0,
      results: [],
    };
    for (let attempt = 0; attempt < 20 && answer.results.length < 2; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
      const found = await runRmb(["search", "barber", ...conn, "--bootstrap", String(ids[3]), "--json"], {
        env,
      });
      assert.equal(found.code, 0, found.stderr);
      answer = JSON.parse(found.stdout) as typeof answer;
    }
    assert.deepEqual(answer.results.map((r) => r.twin).sort(), [ids[0], ids[2]].sort());
    assert.ok(answer.hops <= 4);
    const structured = await runRmb(
      ["search", "category=barber,location=ghent", ...conn, "--bootstrap", String(ids[1])],
      { env },
    );
    assert.equal(structured.code, 0, structured.stderr);
    assert.match(structured.stdout, new RegExp(`twin ${ids[0]} .*location=ghent`));
    const none = await runRmb(["search", "plumber", ...conn, "--bootstrap", String(ids[1]), "-t", "3"], {
      env,
    });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /nothing found for 'plumber'/);

    // kill -9 the florist: the others declare it dead.
    d.child.kill("SIGKILL");
    for (const p of [a, b, c]) await p.waitForStdout(new RegExp(`member ${ids[3]}: .*→ dead`), 30_000);
    assert.equal(await b.stop("SIGTERM"), 0);
  });
});
