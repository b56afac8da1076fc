import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { describe, test } from "node:test";
import fc from "fast-check";
import { buildAuthHeader, type RegistrarService } from "../../src/registry/index.js";
import { RelayServer } from "../../src/relay/index.js";
import {
  creationBody,
  type RegistrarFixture,
  signerFor,
  startRegistrar,
} from "../support/registrar-fixture.js";
import { httpRequest } from "../support/relay-client.js";
import { createTwins } from "../support/relay-fixture.js";
import { FUZZ_SEED, liveRuns } from "./fuzz-config.js";
import { mutatedJsonObject, mutatedText } from "./mutate.js";

const RUNS = liveRuns(250);

interface Answer {
  status: number;
  text: string;
  contentType: string;
}

/** One HTTP request over a keep-alive agent (so hundreds of them stay cheap). */
function send(
  agent: Agent,
  url: string,
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString(),
          contentType: String(res.headers["content-type"] ?? ""),
        }),
      );
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : Buffer.from(body));
  });
}

/** A refusal must be a 4xx with upstream's JSON `{"error": "…"}` (or gin's plain 404 for routes it does not have). */
function assertClientError(a: Answer, what: string): void {
  assert.ok(a.status < 500, `${what}: ${a.status} ${a.text}`);
  if (a.status < 400) return;
  if (a.status === 404 && a.contentType.startsWith("text/plain")) {
    assert.equal(a.text, "404 page not found", what);
    return;
  }
  const json = JSON.parse(a.text) as { error?: unknown };
  assert.equal(typeof json.error, "string", `${what}: ${a.text}`);
  assert.ok((json.error as string).length > 0, what);
}

/** Header values Node's client accepts (visible ASCII, tab, space). */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e]/g, "?");
/** Paths Node's client accepts (no spaces or control characters). */
const pathSafe = (s: string) => s.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));

function sample<T>(arb: fc.Arbitrary<T>, n: number): T[] {
  return fc.sample(arb, FUZZ_SEED === undefined ? n : { numRuns: n, seed: FUZZ_SEED });
}

async function assertStillServing(r: RegistrarFixture, agent: Agent, uri: string): Promise<void> {
  const signer = signerFor(uri);
  const created = await send(
    agent,
    r.url,
    "POST",
    "/v1/accounts",
    JSON.stringify(creationBody(signer, r.clock.seconds)),
  );
  assert.equal(created.status, 201, created.text);
  const id = (JSON.parse(created.text) as { twin_id: number }).twin_id;
  const got = await send(agent, r.url, "GET", `/api/v1/accounts?twin_id=${id}`);
  assert.equal(got.status, 200, got.text);
}

describe("hostile input — registry service (RegistrarService over HTTP)", () => {
  test("random and mutated creation bodies get 4xx JSON errors (or 201/409 when still valid), never 5xx", async (t) => {
    const r = await startRegistrar(t);
    const agent = new Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    const signers = ["//Alice", "//Bob", "//Charlie", "//Dave"].map((u) => signerFor(u));
    const valid = fc
      .constantFrom(...signers)
      .map((s) => creationBody(s, r.clock.seconds) as Record<string, unknown>);
    const bodies = sample(
      fc.oneof(
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.json({ maxDepth: 3 }),
        mutatedText(valid.map((o) => JSON.stringify(o))),
        mutatedJsonObject(valid),
      ),
      RUNS,
    );
    const statuses = new Map<number, number>();
    for (const body of bodies) {
      const a = await send(agent, r.url, "POST", "/v1/accounts", body, {
        "content-type": "application/json",
      });
      assertClientError(a, `POST ${typeof body === "string" ? body.slice(0, 80) : "bytes"}`);
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    }
    assert.ok((statuses.get(400) ?? 0) > 0, `statuses ${JSON.stringify([...statuses])}`);
    await assertStillServing(r, agent, "//Eve");
  });

  test("random and mutated X-Auth headers and PATCH bodies get 4xx JSON errors, never 5xx", async (t) => {
    const r = await startRegistrar(t);
    const agent = new Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    const alice = signerFor("//Alice");
    const bob = signerFor("//Bob");
    for (const s of [alice, bob]) {
      const a = await send(
        agent,
        r.url,
        "POST",
        "/v1/accounts",
        JSON.stringify(creationBody(s, r.clock.seconds)),
      );
      assert.equal(a.status, 201);
    }
    const now = r.clock.seconds;
    const header = fc.oneof(
      fc.string({ maxLength: 120 }),
      mutatedText(
        fc
          .tuple(
            fc.constantFrom(alice, bob),
            fc.constantFrom(1, 2, 3),
            fc.integer({ min: now - 120, max: now + 120 }),
          )
          .map(([s, id, ts]) => buildAuthHeader(s, id, ts)),
      ),
    );
    const body = fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      mutatedJsonObject(fc.constant({ relays: ["relay.example"], rmb_enc_key: "" })),
    );
    const id = fc.oneof(
      fc.constantFrom("1", "2", "1/", "0", "18446744073709551616", "-1", "%00"),
      fc.string({ maxLength: 8 }),
    );
    const cases = sample(fc.tuple(header, body, id), RUNS);
    for (const [h, b, target] of cases) {
      const path = `/v1/accounts/${pathSafe(target)}`;
      const a = await send(agent, r.url, "PATCH", path, b, { "x-auth": headerSafe(h) });
      assertClientError(a, `PATCH ${path} x-auth ${h}`);
    }
    await assertStillServing(r, agent, "//Ferdie");
    // Alice's own, fresh header still works after all that.
    r.clock.ms += 1000;
    const ok = await send(
      agent,
      r.url,
      "PATCH",
      "/v1/accounts/1",
      JSON.stringify({ relays: ["ok.example"] }),
      {
        "x-auth": buildAuthHeader(alice, 1, r.clock.seconds),
      },
    );
    assert.equal(ok.status, 200, ok.text);
  });

  test("random paths, queries and methods never get a 5xx", async (t) => {
    const r = await startRegistrar(t);
    const agent = new Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    const segment = fc.string({
      unit: fc.constantFrom(..."av1pi/accounts?=&%_.-+0123456789[]@:"),
      maxLength: 30,
    });
    const path = fc.oneof(
      segment.map((s) => `/${s}`),
      segment.map((s) => `/v1/accounts${s}`),
      fc
        .tuple(fc.constantFrom("twin_id", "public_key"), fc.string({ maxLength: 50 }))
        .map(([k, v]) => `/api/v1/accounts?${k}=${encodeURIComponent(v)}`),
    );
    const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD");
    for (const [m, p] of sample(fc.tuple(method, path), RUNS)) {
      const a = await send(agent, r.url, m, pathSafe(p));
      if (m === "HEAD") assert.ok(a.status < 500, `${m} ${p}: ${a.status}`);
      else assertClientError(a, `${m} ${p}`);
    }
    await assertStillServing(r, agent, "//Eve");
  });

  test("request targets that are no URL path ('//', '//[', '//@') get 404 and the service keeps serving", async (t) => {
    const r = await startRegistrar(t);
    const agent = new Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    for (const target of ["//", "//[", "//@", "//a:99999", "///", "//v1/accounts"]) {
      for (const method of ["GET", "POST", "PATCH"]) {
        const a = await send(agent, r.url, method, target);
        assert.deepEqual([a.status, a.text], [404, "404 page not found"], `${method} ${target}`);
      }
    }
    await assertStillServing(r, agent, "//Eve");
  });

  test("hosted on a relay's port (rmb relay --registry-data): the same targets get the relay's 404", async (t) => {
    const r = await startRegistrar(t);
    const service: RegistrarService = r.service;
    const { registry } = createTwins();
    const relay = new RelayServer({
      domains: ["relay.test"],
      registry,
      httpRoutes: (req, res) => service.handle(req, res, false),
    });
    const { port } = await relay.start();
    t.after(() => relay.stop());
    for (const target of ["//", "//[", "//@"]) {
      assert.deepEqual(
        await httpRequest(port, "GET", target),
        { status: 404, body: "page not found" },
        target,
      );
    }
    assert.equal((await httpRequest(port, "GET", "/v1/accounts?twin_id=1")).status, 404);
    assert.equal((await httpRequest(port, "GET", "/metrics")).status, 200);
  });
});
