import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type RmbProcess, runRmb, spawnNodeScript, spawnRmb } from "../support/cli.js";
import { randomSeed } from "../support/peer-net.js";

/** The misbehaving agent process (built next to this file's support helpers). */
const FORGER = join(dirname(fileURLToPath(import.meta.url)), "..", "support", "p2p-forger.js");

interface CliTwin {
  id: number;
  secret: string;
}

describe("rmb agent and rmb search: P2P agents as real processes over a real relay", () => {
  let dir: string;
  let relay: RmbProcess;
  let port: number;
  let conn: string[];
  const running: RmbProcess[] = [];

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
    port = Number((await relay.waitForStdout(/listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
    conn = ["--relay", `ws://localhost:${port}`, "--registrar", `http://127.0.0.1:${port}`];
  });

  after(async () => {
    await Promise.all(running.map((p) => p.stop("SIGKILL")));
    await relay?.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  /** Registers `n` new twins in the relay's registry (ids after every earlier twin's), sorted by id. */
  const newTwins = async (n: number): Promise<CliTwin[]> => {
    const out = await Promise.all(
      Array.from({ length: n }, async () => {
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
        return { id: (JSON.parse(r.stdout) as { id: number }).id, secret };
      }),
    );
    return out.sort((x, y) => x.id - y.id);
  };

  /** `rmb agent` as `twin`, with `args`; resolves once it runs (joined, or found nobody). */
  const startAgent = async (twin: CliTwin, args: string[]): Promise<RmbProcess> => {
    const proc = spawnRmb(["agent", ...conn, ...args], { RMB_SECRET: twin.secret });
    running.push(proc);
    await proc.waitForStdout(new RegExp(`agent running as twin ${twin.id} `), 60_000);
    return proc;
  };

  const seesAlive = (p: RmbProcess, twin: number): Promise<RegExpMatchArray> =>
    p.waitForStdout(new RegExp(`member ${twin}: .*→ alive`), 60_000);

  /** Stops the processes of one test, so that the next one's agents cannot find them. */
  const stopAll = async (procs: RmbProcess[]): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop("SIGKILL")));
  };

  test("--option names a P2P option; a bad name or value is a usage error (exit 2) that says why", async () => {
    const cases: [string[], RegExp][] = [
      [["agent", "-o", "nope=3"], /invalid --option 'nope=3': no option 'nope'/],
      [["agent", "-o", "periodMs=abc"], /invalid --option 'periodMs=abc': expected NAME=NUMBER/],
      [
        ["search", "x", "-o", "pingTimeoutMs=5000"],
        /options\.pingTimeoutMs.*must be less than options\.periodMs/,
      ],
      [["agent", "--option", "gossipFanout=0"], /options\.gossipFanout/],
    ];
    for (const [args, message] of cases) {
      const r = await runRmb([...args, ...conn], { env: { RMB_SECRET: randomSeed() } });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test("agents join, find each other's services by tag, and notice a killed agent", async () => {
    const twins = await newTwins(5);
    const ids = twins.map((t) => t.id);
    const a = await startAgent(twins[0]!, [
      "--bootstrap",
      "",
      "--tags",
      "category=barber,location=ghent,adjective=trusted",
    ]);
    const b = await startAgent(twins[1]!, [
      "--bootstrap",
      String(ids[0]),
      "--tags",
      "category=baker,location=brussels",
    ]);
    const c = await startAgent(twins[2]!, [
      "--bootstrap",
      String(ids[0]),
      "--tags",
      "category=barber,location=antwerp",
    ]);
    const d = await startAgent(twins[3]!, ["--bootstrap", String(ids[1]), "--tags", "category=florist"]);
    // Everyone learns about everyone through the bootstrap agent and the membership gossip.
    const procs = [a, b, c, d];
    for (const [i, p] of procs.entries()) {
      for (const [j, other] of ids.slice(0, 4).entries()) if (i !== j) await seesAlive(p, other);
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
    for (const p of [a, b, c]) await p.waitForStdout(new RegExp(`member ${ids[3]}: .*→ dead`), 60_000);
    assert.equal(await b.stop("SIGTERM"), 0);
    await stopAll(procs);
  });

  test("a killed agent that restarts (same twin, new process) is seen alive again by the others", async () => {
    const [x, y, z] = (await newTwins(3)) as [CliTwin, CliTwin, CliTwin];
    const px = await startAgent(x, ["--bootstrap", "", "--tags", "category=tailor"]);
    const py = await startAgent(y, ["--bootstrap", String(x.id)]);
    const pz = await startAgent(z, ["--bootstrap", String(x.id), "--tags", "category=cobbler"]);
    await seesAlive(px, z.id);
    await seesAlive(py, z.id);
    await seesAlive(pz, y.id);
    pz.child.kill("SIGKILL");
    for (const p of [px, py]) await p.waitForStdout(new RegExp(`member ${z.id}: .*→ dead`), 60_000);
    // The new process knows nothing of its past: the others tell it it was declared dead, it comes back with a
    // higher incarnation, and the comeback spreads.
    const pz2 = await startAgent(z, ["--bootstrap", String(y.id), "--tags", "category=cobbler"]);
    for (const p of [px, py]) await p.waitForStdout(new RegExp(`member ${z.id}: dead → alive`), 60_000);
    await seesAlive(pz2, x.id);
    // And its service is found again.
    const env = { RMB_SECRET: (await newTwins(1))[0]!.secret };
    let found = { results: [] as { twin: number }[] };
    for (let attempt = 0; attempt < 20 && found.results.length === 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
      const r = await runRmb(["search", "cobbler", ...conn, "--bootstrap", String(x.id), "--json"], { env });
      if (r.code === 0) found = JSON.parse(r.stdout) as typeof found;
    }
    assert.deepEqual(
      found.results.map((r) => r.twin),
      [z.id],
    );
    await stopAll([px, py, pz2]);
  });

  test("a signed misbehaviour report, filed by the agent a forger lied to, spreads to the other agent processes", async () => {
    const [h1, h2, h3, f, s] = (await newTwins(5)) as [CliTwin, CliTwin, CliTwin, CliTwin, CliTwin];
    const p1 = await startAgent(h1, ["--bootstrap", ""]);
    const p2 = await startAgent(h2, ["--bootstrap", String(h1.id)]);
    const p3 = await startAgent(h3, ["--bootstrap", String(h1.id)]);
    // A real agent process (our library) that answers every search with a forged record.
    const forger = spawnNodeScript(
      FORGER,
      [`ws://localhost:${port}`, `http://127.0.0.1:${port}`, String(h1.id)],
      {
        RMB_SECRET: f.secret,
      },
    );
    running.push(forger);
    await forger.waitForStdout(new RegExp(`forger running as twin ${f.id}`), 60_000);
    for (const p of [p1, p2, p3]) await seesAlive(p, f.id);
    await seesAlive(p2, h3.id);
    await seesAlive(p3, h2.id);
    // Searches for a tag nobody has go through h1 only (the searcher's one neighbour), and h1 forwards them to
    // the others, the forger among them: h1 gets forged records, scores the forger down and reports it.
    const filed = new RegExp(`report by ${h1.id} about ${f.id}: invalid \\(filed\\)`);
    const viaH1 = ["-o", "homeReplicas=0", "-o", "maxNeighbours=1", "--bootstrap", String(h1.id)];
    for (let attempt = 0; attempt < 30 && !filed.test(p1.stdout()); attempt++) {
      await runRmb(["search", "plumber", ...conn, ...viaH1, "--max-hops", "2", "-t", "4"], {
        env: { RMB_SECRET: s.secret },
      });
    }
    await p1.waitForStdout(filed, 10_000);
    await p1.waitForStdout(new RegExp(`twin ${f.id} misbehaved: invalid`), 10_000);
    // The report is signed by h1 and gossiped: the other agents check the signature and accept it.
    for (const p of [p2, p3]) {
      await p.waitForStdout(new RegExp(`report by ${h1.id} about ${f.id}: invalid \\(accepted\\)`), 60_000);
    }
    await stopAll([p1, p2, p3, forger]);
  });

  test("a search is answered from a cache on the path of an earlier answer", async () => {
    // One neighbour each and no home agents: owner A announces its record to its neighbour B only; C's neighbour
    // is B; the searcher's neighbour is C. The first search goes searcher → C → B (B has A's record); C caches
    // the answer on its way back, so the second search is answered by C.
    const [b, a, c, s] = (await newTwins(4)) as [CliTwin, CliTwin, CliTwin, CliTwin];
    const line = ["-o", "homeReplicas=0", "-o", "maxNeighbours=1"];
    const pb = await startAgent(b, ["--bootstrap", "", ...line, "--tags", "category=baker"]);
    const pa = await startAgent(a, [
      "--bootstrap",
      String(b.id),
      ...line,
      "--tags",
      "category=plumber,name=mario",
    ]);
    const pc = await startAgent(c, ["--bootstrap", String(b.id), ...line]);
    await seesAlive(pb, a.id);
    await seesAlive(pb, c.id);
    const search = async () => {
      const r = await runRmb(
        ["search", "mario", ...conn, "--bootstrap", String(c.id), ...line, "--json", "-t", "6"],
        {
          env: { RMB_SECRET: s.secret },
        },
      );
      return { code: r.code, answer: r.code === 0 ? (JSON.parse(r.stdout) as SearchJson) : undefined };
    };
    type SearchJson = { hops: number; fromCache: boolean; results: { twin: number }[] };
    let first = await search();
    for (let attempt = 0; attempt < 20 && first.code !== 0; attempt++) {
      await new Promise((r) => setTimeout(r, 1000));
      first = await search();
    }
    assert.equal(first.code, 0);
    assert.deepEqual(
      first.answer!.results.map((r) => r.twin),
      [a.id],
    );
    assert.ok(first.answer!.hops >= 2, `first answer ${first.answer!.hops} hops away (B's or A's)`);
    const second = await search();
    assert.equal(second.code, 0);
    assert.deepEqual(
      second.answer!.results.map((r) => r.twin),
      [a.id],
    );
    assert.equal(second.answer!.hops, 1, "answered by C, the first hop");
    assert.equal(
      second.answer!.fromCache,
      true,
      "from C's cache (C is not the owner and got no announcement)",
    );
    await stopAll([pa, pb, pc]);
  });

  test("without --bootstrap, agents find each other through the twin registry", async () => {
    // The agents of the earlier tests are stopped: the running agents are all among these newest twins.
    const [d1, d2, d3, s] = (await newTwins(4)) as [CliTwin, CliTwin, CliTwin, CliTwin];
    const p1 = await startAgent(d1, ["--tags", "category=locksmith"]);
    assert.match(p1.stdout(), /discovery: no agent among \d+ candidates from the registry/);
    const p2 = await startAgent(d2, []);
    assert.match(p2.stdout(), new RegExp(`discovery: joined through twin ${d1.id} `));
    await seesAlive(p1, d2.id);
    const p3 = await startAgent(d3, ["--tags", "category=glazier"]);
    assert.match(p3.stdout(), /discovery: joined through twin \d+/);
    for (const p of [p1, p2]) await seesAlive(p, d3.id);
    await seesAlive(p3, d1.id);
    // rmb search without --bootstrap too.
    let found = { results: [] as { twin: number }[] };
    for (let attempt = 0; attempt < 20 && found.results.length === 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
      const r = await runRmb(["search", "locksmith", ...conn, "--json"], { env: { RMB_SECRET: s.secret } });
      if (r.code === 0) found = JSON.parse(r.stdout) as typeof found;
    }
    assert.deepEqual(
      found.results.map((r) => r.twin),
      [d1.id],
    );
    await stopAll([p1, p2, p3]);
  });
});
