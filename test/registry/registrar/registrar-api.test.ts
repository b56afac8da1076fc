import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { secp256k1PublicKey } from "../../../src/crypto/secp256k1.js";
import { DEV_PHRASE, KeyType } from "../../../src/identity/index.js";
import {
  type Account,
  type AccountListener,
  type AccountPatch,
  type AccountStore,
  buildAuthHeader,
  encodeStdBase64,
  FileAccountStore,
  type NewAccount,
  REGISTRAR_DEFAULTS,
} from "../../../src/registry/index.js";
import { creationBody, type HttpAnswer, signerFor, startRegistrar } from "../../support/registrar-fixture.js";

const alice = signerFor(DEV_PHRASE);
const bob = signerFor(`${DEV_PHRASE}//bob`, KeyType.Sr25519);
const encKey = encodeStdBase64(secp256k1PublicKey(new Uint8Array(32).fill(7)));
/** Every route is served under both bases (spec §2); the error tables run under each. */
const BASES = ["/api/v1", "/v1"] as const;

test("registrar — known-answer vectors of the creation proof and X-Auth (spec §9)", () => {
  assert.equal(encodeStdBase64(alice.publicKey), "NFBx2lXl3M76qkQDOUFe+fJmMzijj32g3yG+WrTgVe8=");
  assert.equal(
    creationBody(alice, 1_700_000_000).signature,
    "SZVJE+v8SLWCuBhDRJnYN5hOkuvkzzYDNv0Q6c55cKG6A0mULUQKeamic6VJfBaRacS+tT7SCrx+q+q2Y2WtBQ==",
  );
  assert.equal(
    buildAuthHeader(alice, 1, 1_700_000_000),
    "MTcwMDAwMDAwMDox:UxYW2XJN+aKDHKOX/FeFoAqmgGkGXVFB7RzU0qGXaj4qolofhYpaCdTJdHizFZ3dKyKWQvWkRmIf+315XHHrDg==",
  );
});

test("registrar — POST creates an account under /api/v1 and /v1, with or without the trailing slash", async (t) => {
  const r = await startRegistrar(t);
  const created = await r.call("POST", "/api/v1/accounts", creationBody(alice, r.clock.seconds));
  assert.equal(created.status, 201);
  assert.deepEqual(Object.keys(created.json), [
    "twin_id",
    "relays",
    "rmb_enc_key",
    "created_at",
    "updated_at",
    "public_key",
  ]);
  assert.equal(created.json.twin_id, 1);
  assert.deepEqual(created.json.relays, []);
  assert.equal(created.json.rmb_enc_key, "");
  assert.equal(created.json.public_key, "NFBx2lXl3M76qkQDOUFe+fJmMzijj32g3yG+WrTgVe8=");
  assert.ok(!Number.isNaN(Date.parse(created.json.created_at as string)));
  const second = await r.call(
    "POST",
    "/v1/accounts/",
    creationBody(bob, r.clock.seconds, {
      relays: ["relay.example", "wss://r2.example:443/"],
      rmb_enc_key: encKey,
    }),
  );
  assert.equal(second.status, 201);
  assert.equal(second.json.twin_id, 2);
  assert.deepEqual(second.json.relays, ["relay.example", "wss://r2.example:443/"]);
  assert.equal(second.json.rmb_enc_key, encKey);
});

test("registrar — the body is JSON whatever the content type, keys match case-insensitively, null means absent", async (t) => {
  const r = await startRegistrar(t);
  const body = creationBody(alice, r.clock.seconds);
  const res = await r.call(
    "POST",
    "/v1/accounts",
    JSON.stringify({
      TimeStamp: body.timestamp,
      Public_Key: body.public_key,
      signature: body.signature,
      relays: null,
      rmb_enc_key: null,
      extra: 1,
    }),
    { "content-type": "text/plain" },
  );
  assert.equal(res.status, 201);
  assert.deepEqual(res.json.relays, []);
});

for (const base of BASES) {
  test(`registrar — POST ${base}/accounts refuses bad bodies with upstream's statuses and texts`, async (t) => {
    const r = await startRegistrar(t);
    const ts = r.clock.seconds;
    const good = creationBody(alice, ts);
    const cases: [string, unknown, number, string | RegExp][] = [
      ["empty body", "", 400, "EOF"],
      ["not JSON", "{", 400, /./],
      [
        "timestamp as a string",
        { ...good, timestamp: "1" },
        400,
        "json: cannot unmarshal string into Go struct field AccountCreationRequest.timestamp of type int64",
      ],
      ["relays not strings", { ...good, relays: [1] }, 400, /cannot unmarshal number/],
      [
        "required fields missing",
        { timestamp: 0 },
        400,
        [
          "Key: 'AccountCreationRequest.Timestamp' Error:Field validation for 'Timestamp' failed on the 'required' tag",
          "Key: 'AccountCreationRequest.PublicKey' Error:Field validation for 'PublicKey' failed on the 'required' tag",
          "Key: 'AccountCreationRequest.Signature' Error:Field validation for 'Signature' failed on the 'required' tag",
        ].join("\n"),
      ],
      [
        "16-byte key",
        { ...good, public_key: encodeStdBase64(new Uint8Array(16)) },
        400,
        "invalid public key format",
      ],
      [
        "unpadded key",
        { ...good, public_key: good.public_key.replace("=", "") },
        400,
        "invalid public key format",
      ],
      [
        "URL-safe key",
        { ...good, public_key: good.public_key.replaceAll("+", "-") },
        400,
        "invalid public key format",
      ],
      ["signature not base64", { ...good, signature: "!!" }, 400, /^invalid signature format: /],
      [
        "signature by another key",
        { ...good, signature: creationBody(bob, ts).signature },
        401,
        "signature verification error: signature verification failed",
      ],
      [
        "short signature",
        { ...good, signature: encodeStdBase64(new Uint8Array(10)) },
        401,
        /^signature verification error: /,
      ],
      ["relay with a path only", { ...good, relays: ["not a host"] }, 400, /^invalid relays: /],
      ["duplicate relays", { ...good, relays: ["a.example", "A.example"] }, 400, /listed twice/],
      [
        "too many relays",
        { ...good, relays: ["a", "b", "c", "d", "e", "f", "g", "h", "i"] },
        400,
        /at most 8 relays/,
      ],
      ["rmb_enc_key not a key", { ...good, rmb_enc_key: "rmb_enc_key" }, 400, /^invalid rmb_enc_key: /],
    ];
    for (const [name, body, status, error] of cases) {
      const res = await r.call("POST", `${base}/accounts`, body);
      assert.equal(res.status, status, name);
      if (typeof error === "string") assert.equal(res.json.error, error, name);
      else assert.match(String(res.json.error), error, name);
    }
    assert.equal((await r.call("GET", `${base}/accounts?twin_id=1`)).status, 404, "nothing was created");
  });
}

test("registrar — the creation timestamp must be within ±2 s of the server clock; the answer carries server_time", async (t) => {
  const r = await startRegistrar(t);
  for (const offset of [-3, 3]) {
    const res = await r.call("POST", "/v1/accounts", creationBody(alice, r.clock.seconds + offset));
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, {
      error: "timestamp outside acceptable window",
      server_time: r.clock.seconds,
    });
  }
  assert.equal((await r.call("POST", "/v1/accounts", creationBody(alice, r.clock.seconds - 2))).status, 201);
});

test("registrar — a key already registered gets 409, in any of its base64 spellings", async (t) => {
  const r = await startRegistrar(t);
  assert.equal((await r.call("POST", "/v1/accounts", creationBody(alice, r.clock.seconds))).status, 201);
  const again = await r.call("POST", "/v1/accounts", creationBody(alice, r.clock.seconds));
  assert.equal(again.status, 409);
  assert.equal(again.json.error, "account with this public key already exists");
  // "…Ve8=" and "…Ve9=" decode to the same 32 bytes (Go's StdEncoding ignores the 2 trailing pad bits).
  const body = creationBody(alice, r.clock.seconds);
  const other = { ...body, public_key: body.public_key.replace("Ve8=", "Ve9=") };
  const res = await r.call("POST", "/v1/accounts", {
    ...other,
    signature: encodeStdBase64(
      alice.sign(new TextEncoder().encode(`${other.timestamp}:${other.public_key}`)).subarray(1),
    ),
  });
  assert.equal(res.status, 409);
});

test("registrar — GET by twin_id or public_key", async (t) => {
  const r = await startRegistrar(t);
  await r.call("POST", "/v1/accounts", creationBody(alice, r.clock.seconds, { relays: ["relay.example"] }));
  const byId = await r.call("GET", "/api/v1/accounts?twin_id=1");
  assert.equal(byId.status, 200);
  assert.equal(byId.json.public_key, "NFBx2lXl3M76qkQDOUFe+fJmMzijj32g3yG+WrTgVe8=");
  assert.deepEqual(byId.json.relays, ["relay.example"]);
  const key = encodeStdBase64(alice.publicKey);
  const byKey = await r.call("GET", `/v1/accounts/?public_key=${encodeURIComponent(key)}`);
  assert.equal(byKey.status, 200);
  assert.equal(byKey.json.twin_id, 1);
  // rmb-rs's registrar branch sends the key unencoded: its `+` arrives as a space. Upstream misses; we find it.
  assert.equal((await r.call("GET", `/v1/accounts?public_key=${key}`)).json.twin_id, 1);
});

for (const base of BASES) {
  test(`registrar — GET ${base}/accounts errors, with upstream's statuses and texts`, async (t) => {
    const r = await startRegistrar(t);
    await r.call("POST", `${base}/accounts`, creationBody(alice, r.clock.seconds));
    const errors: [string, number, string][] = [
      ["?twin_id=1&public_key=x", 400, "provide either twin_id or public_key, not both"],
      ["", 400, "must provide either twin_id or public_key parameter"],
      ["?twin_id=&public_key=", 400, "must provide either twin_id or public_key parameter"],
      ["?twin_id=abc", 400, "invalid twin ID"],
      ["?twin_id=-1", 400, "invalid twin ID"],
      ["?twin_id=18446744073709551616", 400, "invalid twin ID"],
      ["?twin_id=2", 404, "account not found"],
      ["?twin_id=0", 404, "account not found"],
      ["?twin_id=18446744073709551615", 404, "account not found"],
      [`?public_key=${encodeURIComponent(encodeStdBase64(bob.publicKey))}`, 404, "account not found"],
      ["?public_key=garbage", 404, "account not found"],
    ];
    for (const [query, status, error] of errors) {
      const res = await r.call("GET", `${base}/accounts${query}`);
      assert.equal(res.status, status, query);
      assert.deepEqual(res.json, { error }, query);
    }
  });
}

test("registrar — PATCH with X-Auth updates only the fields given (upstream wipes the others)", async (t) => {
  const r = await startRegistrar(t);
  await r.call(
    "POST",
    "/v1/accounts",
    creationBody(alice, r.clock.seconds, { relays: ["a.example"], rmb_enc_key: encKey }),
  );
  const auth = (ts = r.clock.seconds) => ({ "x-auth": buildAuthHeader(alice, 1, ts) });
  const res = await r.call("PATCH", "/v1/accounts/1", { relays: ["b.example"] }, auth());
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { message: "account updated successfully" });
  let account = (await r.call("GET", "/v1/accounts?twin_id=1")).json;
  assert.deepEqual(account.relays, ["b.example"]);
  assert.equal(account.rmb_enc_key, encKey, "rmb_enc_key was left out, so it is kept");
  r.clock.ms += 1000;
  assert.equal(
    (await r.call("PATCH", "/api/v1/accounts/1/", { rmb_enc_key: "", public_key: "ignored" }, auth())).status,
    200,
  );
  account = (await r.call("GET", "/v1/accounts?twin_id=1")).json;
  assert.deepEqual(account.relays, ["b.example"]);
  assert.equal(account.rmb_enc_key, "");
  assert.equal(account.public_key, encodeStdBase64(alice.publicKey));
  r.clock.ms += 1000;
  assert.equal((await r.call("PATCH", "/v1/accounts/1", { relays: [] }, auth())).status, 200);
  assert.deepEqual((await r.call("GET", "/v1/accounts?twin_id=1")).json.relays, []);
});

for (const base of BASES) {
  test(`registrar — PATCH ${base}/accounts/:id: X-Auth checks in upstream's order, with its statuses and texts`, async (t) => {
    const r = await startRegistrar(t);
    await r.call("POST", "/v1/accounts", creationBody(alice, r.clock.seconds));
    await r.call("POST", "/v1/accounts", creationBody(bob, r.clock.seconds));
    const ts = r.clock.seconds;
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const sig = buildAuthHeader(alice, 1, ts).split(":")[1] as string;
    const cases: [string, Record<string, string>, number, string][] = [
      ["no header", {}, 401, "Authorization header required"],
      ["empty header", { "x-auth": "" }, 401, "Authorization header required"],
      ["no colon", { "x-auth": "abc" }, 400, "Invalid header format. Use 'Challenge:Signature'"],
      ["three parts", { "x-auth": "a:b:c" }, 400, "Invalid header format. Use 'Challenge:Signature'"],
      ["challenge not base64", { "x-auth": `!!:${sig}` }, 400, "Invalid challenge encoding"],
      ["challenge without colon", { "x-auth": `${b64(`${ts}`)}:${sig}` }, 400, "Invalid challenge format"],
      ["timestamp not a number", { "x-auth": `${b64("x:1")}:${sig}` }, 400, "Invalid timestamp"],
      ["expired", { "x-auth": buildAuthHeader(alice, 1, ts - 61) }, 401, "Expired challenge"],
      [
        "far future",
        { "x-auth": buildAuthHeader(alice, 1, ts + 31) },
        401,
        "Challenge timestamp is in the future",
      ],
      ["twin id not a number", { "x-auth": `${b64(`${ts}:x`)}:${sig}` }, 400, "Invalid twin ID format"],
      ["unknown twin", { "x-auth": buildAuthHeader(alice, 9, ts) }, 404, "Account not found"],
      ["signature not base64", { "x-auth": `${b64(`${ts}:1`)}:!!` }, 400, "Invalid signature encoding"],
      [
        "signed by another key",
        { "x-auth": `${b64(`${ts}:1`)}:${buildAuthHeader(bob, 1, ts).split(":")[1]}` },
        401,
        "Signature verification failed: signature verification failed",
      ],
      ["authenticated as another twin", { "x-auth": buildAuthHeader(bob, 2, ts) }, 401, "not authorized"],
    ];
    for (const [name, headers, status, error] of cases) {
      const res = await r.call("PATCH", `${base}/accounts/1`, { relays: ["x.example"] }, headers);
      assert.equal(res.status, status, name);
      assert.deepEqual(res.json, { error }, name);
    }
    r.clock.ms += 1000;
    const now = r.clock.seconds;
    const notId = await r.call(
      "PATCH",
      `${base}/accounts/abc`,
      {},
      { "x-auth": buildAuthHeader(alice, 1, now) },
    );
    assert.deepEqual([notId.status, notId.json], [400, { error: "invalid twin ID" }]);
    r.clock.ms += 1000;
    const badBody = await r.call("PATCH", `${base}/accounts/1`, "[1]", {
      "x-auth": buildAuthHeader(alice, 1, r.clock.seconds),
    });
    assert.deepEqual([badBody.status, badBody.json], [400, { error: "invalid request body" }]);
    r.clock.ms += 1000;
    const badRelay = await r.call(
      "PATCH",
      `${base}/accounts/1`,
      { relays: ["bad relay"] },
      {
        "x-auth": buildAuthHeader(alice, 1, r.clock.seconds),
      },
    );
    assert.equal(badRelay.status, 400);
    assert.match(String(badRelay.json.error), /^invalid relays: /);
    assert.deepEqual((await r.call("GET", `${base}/accounts?twin_id=1`)).json.relays, [], "nothing changed");
  });
}

test("registrar — a `_`-joined relays entry (rmb-rs's registrar branch) is accepted, each of its hosts checked", async (t) => {
  const r = await startRegistrar(t);
  const created = await r.call(
    "POST",
    "/v1/accounts",
    creationBody(alice, r.clock.seconds, { relays: ["r1.example_r2.example"] }),
  );
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.json.relays, ["r1.example_r2.example"], "stored as sent");
  // What rmb-rs's branch PATCHes: one joined entry and a public_key (ignored), no rmb_enc_key.
  const patch = (relays: string[]) => {
    r.clock.ms += 1000;
    return r.call(
      "PATCH",
      "/v1/accounts/1",
      { relays, public_key: encodeStdBase64(alice.publicKey) },
      { "x-auth": buildAuthHeader(alice, 1, r.clock.seconds) },
    );
  };
  assert.equal((await patch(["r3.example_r4.example_r5.example"])).status, 200);
  assert.deepEqual((await r.call("GET", "/v1/accounts?twin_id=1")).json.relays, [
    "r3.example_r4.example_r5.example",
  ]);
  const refused: [string[], RegExp][] = [
    [["a.example_"], /^invalid relays: relay "a\.example_" has an empty host between its '_'s$/],
    [["a.example__b.example"], /empty host/],
    [["a.example_bad host"], /^invalid relays: relay "bad host" is neither a host name/],
    [["a.example_wss://b.example"], /is neither a host name/],
    [["a.example_A.example"], /^invalid relays: relay "A\.example" is listed twice$/],
    [["a.example_b.example", "b.example"], /"b\.example" is listed twice/],
    [[Array.from({ length: 9 }, (_, i) => `r${i}.example`).join("_")], /at most 8 relays are allowed, got 9/],
    [[`a.example_${"b".repeat(1024)}`], /must be 1 to 1024 characters/],
  ];
  for (const [relays, error] of refused) {
    const res = await patch(relays);
    assert.equal(res.status, 400, relays.join(","));
    assert.match(String(res.json.error), error, relays.join(","));
  }
  assert.deepEqual((await r.call("GET", "/v1/accounts?twin_id=1")).json.relays, [
    "r3.example_r4.example_r5.example",
  ]);
});

type StoreOp = "create" | "getById" | "getByPublicKey" | "update" | "claimAuth";

/**
 * A file store with injected faults: operations that throw (a database that fails), a stored public key that is
 * not base64 (a corrupt row), an update that finds no row (deleted between the X-Auth check and the update), and
 * an auth-claim table that is full.
 */
class FaultyStore implements AccountStore {
  readonly inner: AccountStore;
  readonly failing = new Set<StoreOp>();
  corruptKey = false;
  vanishOnUpdate = false;
  claimsFull = false;
  constructor(inner: AccountStore) {
    this.inner = inner;
  }
  #check(op: StoreOp): void {
    if (this.failing.has(op)) throw new Error(`injected ${op} failure`);
  }
  async create(account: NewAccount): Promise<Account> {
    this.#check("create");
    return this.inner.create(account);
  }
  async getById(twinId: number): Promise<Account | undefined> {
    this.#check("getById");
    const account = await this.inner.getById(twinId);
    return account !== undefined && this.corruptKey ? { ...account, publicKey: "not base64!" } : account;
  }
  async getByPublicKey(publicKey: string): Promise<Account | undefined> {
    this.#check("getByPublicKey");
    return this.inner.getByPublicKey(publicKey);
  }
  async update(twinId: number, patch: AccountPatch): Promise<Account | undefined> {
    this.#check("update");
    return this.vanishOnUpdate ? undefined : this.inner.update(twinId, patch);
  }
  async claimAuth(token: string, expiresAt: number, now: number): Promise<"ok" | "replay" | "full"> {
    this.#check("claimAuth");
    return this.claimsFull ? "full" : this.inner.claimAuth(token, expiresAt, now);
  }
  watch(listener: AccountListener): () => void {
    return this.inner.watch(listener);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

for (const base of BASES) {
  test(`registrar — ${base}: store failures and corrupt rows get upstream's 500/400/404 texts; overload 503; anything else 500 internal error`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "rmb-registrar-faulty-"));
    const store = new FaultyStore(await FileAccountStore.open(dir, { fsync: false }));
    const r = await startRegistrar(t, { store, maxWatchers: 0 }); // closes the store after the test
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    assert.equal(
      (await r.call("POST", `${base}/accounts`, creationBody(alice, r.clock.seconds))).status,
      201,
    );
    const key = encodeURIComponent(encodeStdBase64(alice.publicKey));
    const patch = () => {
      r.clock.ms += 1000; // a new X-Auth header each time (a header that passed is not accepted twice)
      return r.call(
        "PATCH",
        `${base}/accounts/1`,
        { relays: ["x.example"] },
        {
          "x-auth": buildAuthHeader(alice, 1, r.clock.seconds),
        },
      );
    };
    const expect = async (answer: Promise<HttpAnswer>, status: number, error: string, name: string) => {
      const res = await answer;
      assert.deepEqual([res.status, res.json], [status, { error }], name);
    };

    store.failing.add("create");
    await expect(
      r.call("POST", `${base}/accounts`, creationBody(bob, r.clock.seconds)),
      500,
      "failed to create account",
      "insert fails",
    );
    store.failing.clear();
    store.failing.add("getById");
    await expect(
      r.call("GET", `${base}/accounts?twin_id=1`),
      500,
      "failed to get account",
      "get by id fails",
    );
    await expect(patch(), 500, "Database error", "X-Auth account lookup fails");
    store.failing.clear();
    store.failing.add("getByPublicKey");
    await expect(
      r.call("GET", `${base}/accounts?public_key=${key}`),
      500,
      "failed to get account",
      "get by key",
    );
    store.failing.clear();

    store.corruptKey = true;
    await expect(patch(), 400, "invalid stored public key: illegal base64 data", "corrupt stored key");
    store.corruptKey = false;
    store.failing.add("update");
    await expect(patch(), 500, "failed to update account", "update fails");
    store.failing.clear();
    store.vanishOnUpdate = true;
    await expect(patch(), 404, "account not found", "the account went away before the update");
    store.vanishOnUpdate = false;

    store.claimsFull = true;
    await expect(patch(), 503, "too many recent authentications, retry later", "auth claims full");
    store.claimsFull = false;
    store.failing.add("claimAuth");
    await expect(patch(), 500, "internal error", "an unexpected failure");
    store.failing.clear();
    await expect(r.call("GET", `${base}/accounts/events`), 503, "too many change streams", "maxWatchers");

    assert.equal((await patch()).status, 200, "healthy again");
    assert.deepEqual((await r.call("GET", `${base}/accounts?twin_id=1`)).json.relays, ["x.example"]);
  });
}

test("registrar — an X-Auth header works once (replay refused), sr25519 headers work", async (t) => {
  const r = await startRegistrar(t);
  await r.call("POST", "/v1/accounts", creationBody(alice, r.clock.seconds));
  await r.call("POST", "/v1/accounts", creationBody(bob, r.clock.seconds));
  const header = { "x-auth": buildAuthHeader(alice, 1, r.clock.seconds) };
  assert.equal((await r.call("PATCH", "/v1/accounts/1", { relays: ["a.example"] }, header)).status, 200);
  const replay = await r.call("PATCH", "/v1/accounts/1", { relays: ["evil.example"] }, header);
  assert.deepEqual([replay.status, replay.json], [401, { error: "Challenge already used" }]);
  assert.deepEqual((await r.call("GET", "/v1/accounts?twin_id=1")).json.relays, ["a.example"]);
  const sr = await r.call(
    "PATCH",
    "/v1/accounts/2",
    { relays: ["b.example"] },
    {
      "x-auth": buildAuthHeader(bob, 2, r.clock.seconds),
    },
  );
  assert.equal(sr.status, 200);
  assert.deepEqual((await r.call("GET", "/v1/accounts?twin_id=2")).json.relays, ["b.example"]);
});

test("registrar — CORS allows PATCH; unknown routes get gin's plain 404; oversized bodies 413", async (t) => {
  const r = await startRegistrar(t, { maxBodySize: 1024 });
  const preflight = await r.call("OPTIONS", "/v1/accounts/1", undefined, {
    origin: "https://app.example",
    "access-control-request-method": "PATCH",
    "access-control-request-headers": "x-auth, content-type",
  });
  assert.equal(preflight.status, 204);
  assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /PATCH/);
  assert.equal(preflight.headers.get("access-control-allow-headers"), "x-auth, content-type");
  const missing = await r.call("GET", "/v1/farms");
  assert.deepEqual([missing.status, missing.text], [404, "404 page not found"]);
  assert.equal((await r.call("DELETE", "/v1/accounts/1")).status, 404);
  assert.equal((await r.call("GET", "/v1/accounts/1")).status, 404, "no GET by path, like upstream");
  const big = await r.call("POST", "/v1/accounts", { pad: "x".repeat(2000) });
  assert.equal(big.status, 413);
});

test("registrar — concurrent creations get distinct, consecutive twin ids", async (t) => {
  const r = await startRegistrar(t);
  const signers = Array.from({ length: 40 }, (_, i) => signerFor(`${DEV_PHRASE}//c${i}`));
  const answers = await Promise.all(
    signers.map((s) => r.call("POST", "/v1/accounts", creationBody(s, r.clock.seconds))),
  );
  assert.ok(answers.every((a) => a.status === 201));
  const ids = answers.map((a) => a.json.twin_id as number).sort((a, b) => a - b);
  assert.deepEqual(
    ids,
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
});

test("registrar — options are validated by name", async () => {
  const { RegistrarService, RegistrarOptionsError } = await import("../../../src/registry/index.js");
  assert.throws(() => new RegistrarService({} as never), {
    code: "RMB_ERR_REGISTRAR_OPTIONS",
    message: /'store'/,
  });
  const fake = { create() {}, getById() {}, watch: () => () => {} } as unknown as Awaited<
    ReturnType<typeof FileAccountStore.open>
  >;
  assert.throws(() => new RegistrarService({ store: fake, maxRelays: 0 }), RegistrarOptionsError);
  assert.throws(() => new RegistrarService({ store: fake, creationWindow: 1.5 }), /creationWindow/);
  assert.equal(REGISTRAR_DEFAULTS.authFutureSkew, 30);
});
