import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { E2eCipher } from "../../src/crypto/index.js";
import {
  generateMnemonic,
  type Identity,
  KeyType,
  loadIdentity,
  verifySignature,
} from "../../src/identity/index.js";
import {
  createEnvelope,
  encodeEnvelope,
  signEnvelope,
  unixNow,
  verifyEnvelope,
} from "../../src/protocol/index.js";
import {
  AccountStoreRegistry,
  FileAccountStore,
  RegistrarClient,
  RegistrarService,
} from "../../src/registry/index.js";
import { RelayServer } from "../../src/relay/index.js";
import { bytes, RmbCallError, RmbClient, text } from "../../src/sdk/index.js";
import { buildBundle, repoRoot as root } from "../support/browser-bundle.js";
import { Chromium, type ChromiumPage, findChromium } from "../support/chromium.js";
import { freePort } from "../support/redis-server.js";
import { RelayTestClient } from "../support/relay-client.js";

/**
 * The SDK in a real browser: the bundle (built here with scripts/build-browser.mjs) runs in headless Chromium, its
 * RmbClient talks over the standard WebSocket to a real relay that also hosts the registrar API (reached by the page
 * over fetch, cross-origin), and to Node twins: a Node RmbClient and a raw websocket client that checks the wire.
 */

const DOMAIN = "relay.test";

interface PageCallResult {
  ok: boolean;
  source?: { twin: number; session?: string };
  schema?: string | null;
  value?: unknown;
  name?: string;
  code?: string | null;
  wireCode?: number | null;
  message?: string;
}

interface PageInspect {
  account: string;
  ss58: string;
  pk: string | null;
  signature: string;
  backends: { ed25519: string; sr25519: string };
}

interface PageLink {
  url: string;
  state: string;
  stats: Record<string, number>;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("browser — the SDK bundle in headless Chromium against a real relay", { timeout: 60_000 }, () => {
  let chromium: Chromium | undefined;
  let page: ChromiumPage;
  let relay: RelayServer | undefined;
  let service: RegistrarService | undefined;
  let store: FileAccountStore | undefined;
  let site: Server | undefined;
  let node: RmbClient | undefined;
  let eve: RelayTestClient | undefined;
  let eveIdentity: Identity;
  let eveTwin: number;
  let nodeTwin: number;
  let registrarUrl: string;
  let relayUrl: string;
  const dirs: string[] = [];
  /** The page's twins: name → secret, key type and twin id. */
  const pageTwins = new Map<string, { secret: string; keyType: KeyType; twin: number; identity: Identity }>();

  /** Runs `scenario.<fn>(...args)` in the page; failures carry the page's console. */
  const inPage = async <T>(fn: string, ...args: unknown[]): Promise<T> => {
    const expression = `window.scenario.${fn}(${args.map((a) => JSON.stringify(a)).join(", ")})`;
    try {
      return await page.evaluate<T>(expression);
    } catch (err) {
      throw new Error(`${(err as Error).message}\npage log:\n${page.log.join("\n")}`);
    }
  };

  const connectPageTwin = async (
    name: string,
    keyType: KeyType,
    options: { relays?: string[]; relay?: Record<string, number> } = {},
  ) => {
    const secret = generateMnemonic();
    const result = await inPage<{ twin: number; connected: number }>("connect", name, {
      secret,
      keyType,
      registrar: registrarUrl,
      relays: options.relays ?? [relayUrl],
      domain: DOMAIN,
      relay: { reconnectDelay: 50, maxReconnectDelay: 300, ...options.relay },
    });
    pageTwins.set(name, { secret, keyType, twin: result.twin, identity: loadIdentity(secret, keyType) });
    return result;
  };

  before(async () => {
    const binary = findChromium();
    if (binary instanceof Error) throw binary; // CI installs chromium: a missing browser is a failure, not a skip

    // 1. The bundle, built exactly as users build it.
    const outDir = mkdtempSync(join(tmpdir(), "rmb-browser-bundle-"));
    dirs.push(outDir);
    const bundle = await buildBundle({ outfile: join(outDir, "rmb-sdk.js") });
    assert.deepEqual(Object.values(bundle.metafile.outputs)[0]?.imports, [], "the bundle imports nothing");

    // 2. A relay that hosts the registrar API on its own port (as `rmb relay --registry-data`).
    const dataDir = mkdtempSync(join(tmpdir(), "rmb-browser-registry-"));
    dirs.push(dataDir);
    store = await FileAccountStore.open(dataDir, { fsync: false });
    const registrar = new RegistrarService({ store });
    service = registrar;
    relay = new RelayServer({
      domains: [DOMAIN],
      registry: new AccountStoreRegistry(store),
      host: "127.0.0.1",
      httpRoutes: (req, res) => registrar.handle(req, res, false),
    });
    const { port } = await relay.start();
    registrarUrl = `http://127.0.0.1:${port}`;
    relayUrl = `ws://127.0.0.1:${port}`;

    // 3. The page and the bundle, from another origin than the registrar (so CORS is exercised).
    const files: Record<string, [string, string]> = {
      "/": [join(root, "test", "browser", "page", "index.html"), "text/html; charset=utf-8"],
      "/scenario.js": [join(root, "test", "browser", "page", "scenario.js"), "text/javascript"],
      "/rmb-sdk.js": [bundle.outfile, "text/javascript"],
      "/rmb-sdk.js.map": [`${bundle.outfile}.map`, "application/json"],
    };
    site = createServer((req, res) => {
      const file = files[req.url ?? ""];
      if (file === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": file[1], "cache-control": "no-store" }).end(readFileSync(file[0]));
    });
    await new Promise<void>((resolve) => site?.listen(0, "127.0.0.1", resolve));
    const pageUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;

    // 4. Node twins: an RmbClient (sr25519) and a raw websocket client (ed25519) that looks at the wire.
    const registry = new RegistrarClient({ url: registrarUrl });
    const nodeIdentity = loadIdentity(generateMnemonic(), KeyType.Sr25519);
    nodeTwin = (
      await registry.createTwin(nodeIdentity.signer, { relays: [DOMAIN], pk: nodeIdentity.e2e?.publicKey })
    ).id;
    node = await RmbClient.connect({
      identity: nodeIdentity,
      registry,
      relays: [relayUrl],
      relay: { reconnectDelay: 50, maxReconnectDelay: 300 },
    });
    node.serve("calc.add", (req) => {
      const { x, y } = req.json<{ x: number; y: number }>();
      return x + y;
    });
    node.serve("echo", (req) => bytes(req.data, req.schema));
    node.serve("whoami", (req) => ({ caller: req.source.twin }));
    eveIdentity = loadIdentity(generateMnemonic(), KeyType.Ed25519);
    eveTwin = (
      await registry.createTwin(eveIdentity.signer, { relays: [DOMAIN], pk: eveIdentity.e2e?.publicKey })
    ).id;
    eve = await RelayTestClient.connect(port, eveIdentity.signer, { twin: eveTwin });

    // 5. The browser.
    chromium = await Chromium.launch(binary);
    page = await chromium.newPage();
    await page.goto(pageUrl);
    const deadline = Date.now() + 10_000;
    while (!(await page.evaluate<boolean>("window.rmbReady === true"))) {
      if (Date.now() > deadline) throw new Error(`the page did not load the bundle:\n${page.log.join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  after(async () => {
    if (chromium !== undefined) {
      await page?.evaluate("window.scenario.closeAll()", 5000).catch(() => undefined);
      await chromium.close();
    }
    await node?.close();
    await eve?.close();
    await service?.stop();
    await relay?.stop();
    await store?.close();
    await new Promise<void>((resolve) => (site === undefined ? resolve() : site.close(() => resolve())));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("derives the same keys as Node; ed25519 signatures are byte-identical, sr25519 ones verify both ways", async () => {
    const secret = generateMnemonic();
    for (const keyType of [KeyType.Ed25519, KeyType.Sr25519]) {
      const mine = loadIdentity(secret, keyType);
      const theirs = await inPage<PageInspect>("inspect", secret, keyType);
      assert.equal(theirs.account, hex(mine.publicKey), keyType);
      assert.equal(theirs.ss58, mine.ss58, keyType);
      assert.equal(theirs.pk, hex(mine.e2e!.publicKey), keyType);
      const message = new TextEncoder().encode("rmb-ts browser signature check");
      const nodeSignature = mine.signer.sign(message);
      if (keyType === KeyType.Ed25519) assert.equal(theirs.signature, hex(nodeSignature));
      verifySignature(mine.publicKey, message, new Uint8Array(Buffer.from(theirs.signature, "hex")));
      assert.equal(await inPage<boolean>("verify", hex(mine.publicKey), hex(nodeSignature)), true, keyType);
      assert.deepEqual(theirs.backends, { ed25519: "sodium-native", sr25519: "scure-sr25519" });
    }
  });

  test("a page twin (ed25519, then sr25519) registers over fetch, connects and calls a Node client", async () => {
    for (const [name, keyType] of [
      ["ed", KeyType.Ed25519],
      ["sr", KeyType.Sr25519],
    ] as const) {
      const { connected } = await connectPageTwin(name, keyType);
      assert.equal(connected, 1);
      const sum = await inPage<PageCallResult>("call", name, nodeTwin, "calc.add", { x: 2, y: 40 });
      assert.deepEqual(sum, { ok: true, source: { twin: nodeTwin }, schema: "application/json", value: 42 });
      const raw = await inPage<PageCallResult>("call", name, nodeTwin, "echo", [0, 255, 7], { raw: true });
      assert.equal(raw.ok, true, raw.message);
      assert.deepEqual(raw.value, [0, 255, 7]);
      const who = await inPage<PageCallResult>("call", name, nodeTwin, "whoami", null);
      assert.deepEqual(who.value, { caller: pageTwins.get(name)?.twin });
      const missing = await inPage<PageCallResult>("call", name, nodeTwin, "no.such.command", null);
      assert.equal(missing.ok, false);
      assert.equal(missing.name, "RmbCallError");
      assert.equal(missing.message, "other: unknown command 'no.such.command'");
    }
  });

  test("Node calls commands served by the page twins", async () => {
    const ed = pageTwins.get("ed")?.twin;
    const sr = pageTwins.get("sr")?.twin;
    assert.ok(ed !== undefined && sr !== undefined, "the page twins are connected by the previous test");
    const upper = await node!.call(ed, "browser.upper", text("héllo wörld"), { timeout: 10_000 });
    assert.equal(upper.text(), "HÉLLO WÖRLD");
    assert.equal(upper.schema, "text/plain");
    const sum = await node!.call(sr, "browser.sum", [1, 2, 3, 4], { timeout: 10_000 });
    assert.equal(sum.json(), 10);
    const who = await node!.call(sr, "browser.whoami", undefined, { timeout: 10_000 });
    assert.deepEqual(who.json(), { twin: sr, caller: nodeTwin, keyType: "sr25519" });
    await assert.rejects(node!.call(ed, "browser.fail", undefined, { timeout: 10_000 }), (err: unknown) => {
      assert.ok(err instanceof RmbCallError);
      assert.equal(err.wireCode, 409);
      assert.equal(err.message, "the page says no");
      assert.equal(err.source, ed);
      return true;
    });
  });

  test("on the wire: the page encrypts for Node and signs so that Node verifies; it opens Node's answer", async () => {
    const cipher = new E2eCipher(eveIdentity.e2e!.secret);
    for (const name of ["ed", "sr"]) {
      const twin = pageTwins.get(name);
      assert.ok(twin !== undefined, "the page twins are connected by an earlier test");
      const pagePk = twin.identity.e2e!.publicKey;
      const answer = inPage<PageCallResult>("call", name, eveTwin, "secret", { q: name });
      const { env } = await eve!.next(10_000);
      assert.equal(env.source?.twin, twin.twin);
      assert.equal(env.payload?.kind, "cipher", "the page encrypts for a twin with a published key");
      verifyEnvelope(env, twin.identity.publicKey); // Node verifies the page's signature (throws if it does not)
      const plain = new TextDecoder().decode(cipher.decryptFrom(pagePk, env.payload!.data));
      assert.equal(plain, JSON.stringify({ q: name }));
      const reply = signEnvelope(
        createEnvelope({
          uid: env.uid,
          timestamp: unixNow(),
          expiration: 60,
          source: { twin: eveTwin },
          destination: env.source!,
          message: { kind: "response" },
          schema: "application/json",
          payload: {
            kind: "cipher",
            data: cipher.encryptFor(pagePk, new TextEncoder().encode(`{"a":"${name}"}`)),
          },
        }),
        eveIdentity.signer,
      );
      eve!.send(encodeEnvelope(reply));
      // The page verified Node's signature and decrypted Node's AES-GCM, or the call would not resolve.
      assert.deepEqual(await answer, {
        ok: true,
        source: { twin: eveTwin },
        schema: "application/json",
        value: { a: name },
      });
    }
  });

  test("keep-alive by app-level pings keeps an idle link up; a dead relay URL is retried while the other works", async () => {
    const dead = `ws://127.0.0.1:${await freePort()}`;
    await connectPageTwin("idle", KeyType.Ed25519, {
      relays: [dead, relayUrl],
      relay: { pingAfterIdle: 150, silenceTimeout: 1000 },
    });
    await inPage("sleep", 1500);
    const [down, up] = await inPage<PageLink[]>("links", "idle");
    assert.ok(down !== undefined && up !== undefined);
    assert.equal(up.state, "open");
    assert.equal(up.stats.connects, 1, "no reconnect: the pongs count as traffic");
    assert.equal(up.stats.disconnects, 0);
    assert.ok((up.stats.pings ?? 0) >= 5, `pings: ${up.stats.pings}`);
    assert.ok(
      (up.stats.pongs ?? 0) >= (up.stats.pings ?? 0) - 2,
      `pongs ${up.stats.pongs} of ${up.stats.pings}`,
    );
    assert.equal(up.stats.framesIn, 0, "pongs are not passed to the client");
    assert.notEqual(down.state, "open");
    assert.ok((down.stats.connectFailures ?? 0) >= 2, `failures: ${down.stats.connectFailures}`);
    const sum = await inPage<PageCallResult>("call", "idle", nodeTwin, "calc.add", { x: 1, y: 1 });
    assert.equal(sum.value, 2);
  });
});
