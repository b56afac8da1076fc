import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import {
  type Account,
  type AccountStore,
  FileAccountStore,
  PostgresAccountStore,
  RegistryStoreError,
  TwinExistsError,
} from "../../../src/registry/index.js";
import { type PostgresServerHandle, startPostgresServer } from "../../support/postgres-server.js";
import { waitUntil } from "../../support/wait.js";

const key = (n: number) => Buffer.alloc(32, n).toString("base64");

/** A fresh store of each kind: `open()` opens it (again), `cleanup()` removes it. */
interface StoreKind {
  name: string;
  fresh(): Promise<{ open(): Promise<AccountStore>; cleanup(): Promise<void> }>;
}

let postgres: PostgresServerHandle | undefined;
let databases = 0;

const kinds: StoreKind[] = [
  {
    name: "file",
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), "rmb-accounts-"));
      return {
        open: () => FileAccountStore.open(dir),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: "postgres",
    async fresh() {
      const server = postgres as PostgresServerHandle;
      databases += 1;
      const name = `accounts_${databases}`;
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const url = server.url.replace(/\/rmb$/, `/${name}`);
      return { open: () => PostgresAccountStore.open(url), cleanup: async () => {} };
    },
  },
];

before(async () => {
  postgres = await startPostgresServer();
});
after(async () => {
  await postgres?.stop();
});

for (const kind of kinds) {
  describe(`account store (${kind.name})`, () => {
    test(`${kind.name} store — consecutive ids, lookups, duplicate keys refused`, async (t) => {
      const s = await kind.fresh();
      const store = await s.open();
      t.after(async () => {
        await store.close();
        await s.cleanup();
      });
      const a = await store.create({ publicKey: key(1), relays: ["r.example"], rmbEncKey: "" });
      const b = await store.create({ publicKey: key(2), relays: [], rmbEncKey: "k" });
      assert.deepEqual([a.twinId, b.twinId], [1, 2]);
      assert.deepEqual(a.relays, ["r.example"]);
      assert.ok(a.createdAt instanceof Date && a.createdAt.getTime() === a.updatedAt.getTime());
      assert.deepEqual((await store.getById(2))?.rmbEncKey, "k");
      assert.equal((await store.getByPublicKey(key(1)))?.twinId, 1);
      assert.equal(await store.getById(3), undefined);
      assert.equal(await store.getByPublicKey(key(3)), undefined);
      await assert.rejects(store.create({ publicKey: key(1), relays: [], rmbEncKey: "" }), (err: unknown) => {
        assert.ok(err instanceof TwinExistsError);
        assert.equal(err.twinId, 1);
        return true;
      });
    });

    test(`${kind.name} store — update keeps fields left out; unknown id gives undefined`, async (t) => {
      const s = await kind.fresh();
      const store = await s.open();
      t.after(async () => {
        await store.close();
        await s.cleanup();
      });
      await store.create({ publicKey: key(1), relays: ["a.example"], rmbEncKey: "k1" });
      let updated = await store.update(1, { relays: ["b.example"] });
      assert.deepEqual([updated?.relays, updated?.rmbEncKey], [["b.example"], "k1"]);
      updated = await store.update(1, { rmbEncKey: "" });
      assert.deepEqual([updated?.relays, updated?.rmbEncKey], [["b.example"], ""]);
      updated = await store.update(1, { relays: [] });
      assert.deepEqual(updated?.relays, []);
      assert.equal(await store.update(9, { relays: [] }), undefined);
    });

    test(`${kind.name} store — X-Auth claims: first ok, replay refused until it expires`, async (t) => {
      const s = await kind.fresh();
      const store = await s.open();
      t.after(async () => {
        await store.close();
        await s.cleanup();
      });
      assert.equal(await store.claimAuth("h1", 2000, 1000), "ok");
      assert.equal(await store.claimAuth("h1", 2000, 1500), "replay");
      assert.equal(await store.claimAuth("h2", 2000, 1500), "ok");
      assert.equal(await store.claimAuth("h1", 3000, 2000), "ok", "expired claims can be made again");
    });

    test(`${kind.name} store — survives a reopen; ids continue`, async (t) => {
      const s = await kind.fresh();
      t.after(() => s.cleanup());
      let store = await s.open();
      await store.create({ publicKey: key(1), relays: ["a.example"], rmbEncKey: "" });
      await store.update(1, { relays: ["b.example"] });
      await store.close();
      if (kind.name === "postgres") await postgres?.restart();
      store = await s.open();
      t.after(() => store.close());
      assert.deepEqual((await store.getById(1))?.relays, ["b.example"]);
      assert.equal((await store.create({ publicKey: key(2), relays: [], rmbEncKey: "" })).twinId, 2);
    });

    test(`${kind.name} store — concurrent creations and watch events`, async (t) => {
      const s = await kind.fresh();
      const store = await s.open();
      t.after(async () => {
        await store.close();
        await s.cleanup();
      });
      const seen: Account[] = [];
      const unwatch = store.watch((account) => seen.push(account));
      const created = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          store.create({ publicKey: key(i + 1), relays: [], rmbEncKey: "" }),
        ),
      );
      assert.deepEqual(
        created.map((a) => a.twinId).sort((x, y) => x - y),
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      await store.update(5, { relays: ["x.example"] });
      await waitUntil(async () => seen.length === 31);
      assert.deepEqual(seen.find((a) => a.twinId === 5 && a.relays?.length === 1)?.relays, ["x.example"]);
      unwatch();
      await store.update(6, { relays: ["y.example"] });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(seen.length, 31, "no events after unwatch");
    });
  });
}

test("file store — a torn last line is dropped, a corrupt line before good ones is an error", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "rmb-accounts-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let store = await FileAccountStore.open(dir);
  await store.create({ publicKey: key(1), relays: [], rmbEncKey: "" });
  await store.close();
  appendFileSync(join(dir, "accounts.jsonl"), '{"twin_id":2,"relays":[],"rmb_en');
  store = await FileAccountStore.open(dir);
  assert.equal(store.size, 1);
  assert.equal((await store.create({ publicKey: key(2), relays: [], rmbEncKey: "" })).twinId, 2);
  await store.close();
  assert.equal(
    readFileSync(join(dir, "accounts.jsonl"), "utf8").split("\n").length,
    3,
    "two lines and the final newline",
  );
  const lines = readFileSync(join(dir, "accounts.jsonl"), "utf8").split("\n");
  writeFileSync(join(dir, "accounts.jsonl"), ["garbage", ...lines].join("\n"));
  await assert.rejects(FileAccountStore.open(dir), {
    code: "RMB_ERR_REGISTRY_STORE",
    message: /corrupt at line 1/,
  });
});

test("file store — one process per directory: a live lock refuses, a stale one is taken over", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "rmb-accounts-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await FileAccountStore.open(dir);
  await assert.rejects(FileAccountStore.open(dir), RegistryStoreError);
  await store.close();
  writeFileSync(join(dir, "LOCK"), String(process.pid === 1 ? 2 : 1)); // pid 1 is alive: init
  await assert.rejects(FileAccountStore.open(dir), /in use by process/);
  writeFileSync(join(dir, "LOCK"), "999999999"); // no such process
  const again = await FileAccountStore.open(dir);
  await again.close();
});

test("file store — the log is compacted at open when it holds many superseded versions", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "rmb-accounts-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let store = await FileAccountStore.open(dir, { fsync: false });
  await store.create({ publicKey: key(1), relays: [], rmbEncKey: "" });
  for (let i = 0; i < 1200; i += 1) await store.update(1, { relays: [`r${i}.example`] });
  await store.close();
  assert.equal(readFileSync(join(dir, "accounts.jsonl"), "utf8").trim().split("\n").length, 1201);
  store = await FileAccountStore.open(dir);
  t.after(() => store.close());
  assert.equal(readFileSync(join(dir, "accounts.jsonl"), "utf8").trim().split("\n").length, 1);
  assert.deepEqual((await store.getById(1))?.relays, ["r1199.example"]);
});

test("postgres store — two service processes on one database share claims and see each other's changes", async (t) => {
  const kind = kinds[1] as StoreKind;
  const s = await kind.fresh();
  const one = await s.open();
  const two = await s.open();
  t.after(async () => {
    await one.close();
    await two.close();
  });
  const seen: number[] = [];
  two.watch((account) => seen.push(account.twinId));
  await one.create({ publicKey: key(1), relays: [], rmbEncKey: "" });
  await waitUntil(async () => seen.includes(1));
  assert.equal(await one.claimAuth("header", 5000, 1000), "ok");
  assert.equal(await two.claimAuth("header", 5000, 1000), "replay");
  await assert.rejects(two.create({ publicKey: key(1), relays: [], rmbEncKey: "" }), TwinExistsError);
});

test("postgres store — an unreachable database is a RegistryStoreError", async () => {
  await assert.rejects(PostgresAccountStore.open("postgres://postgres@127.0.0.1:1/none"), {
    code: "RMB_ERR_REGISTRY_STORE",
    message: /cannot open the PostgreSQL account store/,
  });
});
