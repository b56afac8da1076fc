import assert from "node:assert/strict";
import * as nodeCrypto from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { buildBundle } from "../support/browser-bundle.js";

/**
 * The browser build's replacements for Node built-ins, bundled exactly as in dist/browser/rmb-sdk.js (through the
 * build script's aliases) and compared with the real thing, byte for byte.
 */

interface ShimHash {
  update(data: Uint8Array | string, encoding?: string): ShimHash;
  digest(): Uint8Array;
}
interface ShimCipher {
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
  getAuthTag(): Uint8Array;
}
interface ShimDecipher {
  setAuthTag(tag: Uint8Array): ShimDecipher;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}
interface ShimEcdh {
  setPrivateKey(key: Uint8Array): void;
  getPublicKey(encoding: null, format: "compressed" | "uncompressed"): Uint8Array;
  computeSecret(key: Uint8Array): Uint8Array;
}
interface Sodium {
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
}
interface Shims {
  crypto: {
    createHash(algorithm: string): ShimHash;
    pbkdf2Sync(
      pw: Uint8Array | string,
      salt: Uint8Array | string,
      c: number,
      len: number,
      digest: string,
    ): Uint8Array;
    createCipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): ShimCipher;
    createDecipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): ShimDecipher;
    createECDH(curve: string): ShimEcdh;
    ECDH: { convertKey(key: Uint8Array, curve: string, a?: string, b?: string, format?: string): Uint8Array };
    randomBytes(n: number): Uint8Array;
    randomUUID(): string;
    randomFillSync(buf: Uint8Array, offset?: number, size?: number): Uint8Array;
  };
  requireModule: (id: string) => unknown;
  BufferShim: {
    from(value: unknown, encoding?: string): Uint8Array & { toString(encoding?: string): string };
  };
  WebSocketStub: new () => unknown;
  readFile: () => unknown;
}

const ENTRY = `
import * as crypto from "node:crypto";
import { createRequire } from "node:module";
import WebSocketStub from "ws";
import { readFile } from "node:fs/promises";
export const requireModule = createRequire(import.meta.url);
export const BufferShim = Buffer;
export { crypto, WebSocketStub, readFile };
`;

const random = (n: number): Uint8Array => new Uint8Array(nodeCrypto.randomBytes(n));
const same = (a: Uint8Array, b: Uint8Array, what: string): void =>
  assert.equal(Buffer.from(a).toString("hex"), Buffer.from(b).toString("hex"), what);

describe("browser shims — Node built-ins as the browser bundle has them", () => {
  let dir: string;
  let shims: Shims;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rmb-browser-shims-"));
    const entry = join(dir, "entry.js");
    writeFileSync(entry, ENTRY);
    const { outfile } = await buildBundle({ entry, outfile: join(dir, "shims.js"), minify: false });
    shims = (await import(pathToFileURL(outfile).href)) as Shims;
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test("createHash: md5, sha256, sha512, blake2b512 equal node:crypto (bytes and UTF-8 strings, in pieces)", () => {
    for (const algorithm of ["md5", "sha256", "sha512", "blake2b512"]) {
      for (const size of [0, 1, 64, 1000]) {
        const data = random(size);
        const mine = shims.crypto.createHash(algorithm).update("héllo ✓", "utf8").update(data).digest();
        const node = nodeCrypto.createHash(algorithm).update("héllo ✓", "utf8").update(data).digest();
        same(mine, node, `${algorithm} of ${size} bytes`);
      }
    }
    assert.throws(() => shims.crypto.createHash("sha1"), /not supported in the browser build: sha1/);
  });

  test("pbkdf2Sync (sha512) equals node:crypto", () => {
    const password = random(16);
    same(
      shims.crypto.pbkdf2Sync(password, "mnemonic", 2048, 64, "sha512"),
      nodeCrypto.pbkdf2Sync(password, "mnemonic", 2048, 64, "sha512"),
      "pbkdf2",
    );
  });

  test("AES-256-GCM: the shim opens what Node seals and the other way round; a changed byte is refused", () => {
    for (const size of [0, 1, 17, 5000]) {
      const key = random(32);
      const iv = random(12);
      const plain = random(size);
      const c = shims.crypto.createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([c.update(plain), c.final()]);
      const tag = c.getAuthTag();
      const n = nodeCrypto.createCipheriv("aes-256-gcm", key, iv);
      same(body, Buffer.concat([n.update(plain), n.final()]), `ciphertext of ${size} bytes`);
      same(tag, n.getAuthTag(), `tag of ${size} bytes`);
      const d = shims.crypto.createDecipheriv("aes-256-gcm", key, iv).setAuthTag(tag);
      same(Buffer.concat([d.update(body), d.final()]), plain, "decrypted");
      const bad = Buffer.from(tag);
      bad[0] = (bad[0] ?? 0) ^ 1;
      const d2 = shims.crypto.createDecipheriv("aes-256-gcm", key, iv).setAuthTag(bad);
      d2.update(body);
      assert.throws(() => d2.final(), /unable to authenticate data/);
    }
    assert.throws(() => shims.crypto.createCipheriv("aes-128-gcm", random(16), random(12)), /not supported/);
  });

  test("secp256k1 ECDH: public keys, shared x and key conversion equal node:crypto; bad keys throw in both", () => {
    for (let i = 0; i < 8; i++) {
      const secret = random(32);
      const peer = nodeCrypto.createECDH("secp256k1");
      peer.generateKeys();
      const mine = shims.crypto.createECDH("secp256k1");
      mine.setPrivateKey(secret);
      const node = nodeCrypto.createECDH("secp256k1");
      node.setPrivateKey(secret);
      same(mine.getPublicKey(null, "compressed"), node.getPublicKey(null, "compressed"), "compressed");
      same(mine.getPublicKey(null, "uncompressed"), node.getPublicKey(null, "uncompressed"), "uncompressed");
      const compressed = peer.getPublicKey(null, "compressed");
      const uncompressed = peer.getPublicKey(null, "uncompressed");
      const hybrid = peer.getPublicKey(null, "hybrid");
      for (const key of [compressed, uncompressed, hybrid]) {
        same(mine.computeSecret(key), node.computeSecret(key), `shared x (${key.length} bytes, ${key[0]})`);
      }
      same(
        shims.crypto.ECDH.convertKey(uncompressed, "secp256k1", undefined, undefined, "compressed"),
        compressed,
        "to 33",
      );
      same(
        shims.crypto.ECDH.convertKey(compressed, "secp256k1", undefined, undefined, "uncompressed"),
        uncompressed,
        "to 65",
      );
      const wrongParity = Buffer.from(hybrid);
      wrongParity[0] = (wrongParity[0] ?? 0) ^ 1;
      assert.throws(() => nodeCrypto.createECDH("secp256k1").computeSecret(wrongParity));
      assert.throws(() => mine.computeSecret(wrongParity));
    }
    const order = Buffer.from("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", "hex");
    for (const bad of [new Uint8Array(32), order]) {
      assert.throws(() => nodeCrypto.createECDH("secp256k1").setPrivateKey(bad));
      assert.throws(() => shims.crypto.createECDH("secp256k1").setPrivateKey(bad));
    }
    const offCurve = new Uint8Array(33).fill(0xff);
    offCurve[0] = 2;
    const ecdh = shims.crypto.createECDH("secp256k1");
    ecdh.setPrivateKey(random(32));
    assert.throws(() => ecdh.computeSecret(offCurve));
  });

  test("sodium-native shim (ed25519 on @noble/curves) signs exactly as libsodium and verifies strictly", () => {
    const sodium = createRequire(import.meta.url)("sodium-native") as Sodium;
    const shim = shims.requireModule("sodium-native") as Sodium;
    for (let i = 0; i < 8; i++) {
      const seed = random(32);
      const message = random(i * 37);
      const [pk1, sk1, sig1] = [new Uint8Array(32), new Uint8Array(64), new Uint8Array(64)];
      const [pk2, sk2, sig2] = [new Uint8Array(32), new Uint8Array(64), new Uint8Array(64)];
      sodium.crypto_sign_seed_keypair(pk1, sk1, seed);
      shim.crypto_sign_seed_keypair(pk2, sk2, seed);
      same(pk2, pk1, "public key");
      same(sk2, sk1, "secret key layout");
      sodium.crypto_sign_detached(sig1, message, sk1);
      shim.crypto_sign_detached(sig2, message, sk2);
      same(sig2, sig1, "signature");
      assert.equal(shim.crypto_sign_verify_detached(sig1, message, pk1), true);
      sig1[5] = (sig1[5] ?? 0) ^ 1;
      assert.equal(shim.crypto_sign_verify_detached(sig1, message, pk1), false);
      assert.equal(shim.crypto_sign_verify_detached(sig1, message, new Uint8Array(32).fill(0xff)), false);
    }
    assert.throws(
      () => shims.requireModule("@polkadot-labs/schnorrkel-wasm"),
      /Cannot load .* in the browser build/,
    );
  });

  test("random: v4 UUIDs, randomBytes and randomFillSync of any size (Web Crypto caps a call at 64 KiB)", () => {
    const uuid = shims.crypto.randomUUID();
    assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(shims.crypto.randomUUID(), uuid);
    assert.equal(shims.crypto.randomBytes(100_000).length, 100_000);
    const buf = new Uint8Array(70_000);
    shims.crypto.randomFillSync(buf, 10, 69_980);
    assert.equal(buf[0], 0);
    assert.equal(buf[69_995], 0);
    assert.ok(buf.subarray(10, 69_990).some((b) => b !== 0));
  });

  test("Buffer knows base64url like Node's", () => {
    for (const size of [0, 1, 2, 3, 31, 64]) {
      const data = random(size);
      const text = Buffer.from(data).toString("base64url");
      assert.equal(shims.BufferShim.from(data).toString("base64url"), text);
      same(shims.BufferShim.from(text, "base64url"), data, "decoded");
    }
    assert.equal(shims.BufferShim.from("aGk", "base64url").toString("utf8"), "hi");
  });

  test("Node-only modules are stubs that say so when used", () => {
    assert.throws(
      () => new shims.WebSocketStub(),
      /ws \(use the standard WebSocket\) is not available in the browser build/,
    );
    assert.throws(() => shims.readFile(), /fs\.readFile is not available in the browser build/);
  });
});
