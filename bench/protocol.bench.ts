/**
 * Micro-benchmark of the protocol core on one core: envelope codec, signatures, e2e encryption, JWT verify.
 * Run with `npm run bench`. Prints the machine and a Markdown table for the README.
 */
import { randomBytes } from "node:crypto";
import { E2eCipher } from "../src/crypto/index.js";
import { createSigner, loadIdentity, verifySignature } from "../src/identity/index.js";
import {
  createEnvelope,
  createJwt,
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  envelopeDigest,
  signEnvelope,
  verifyJwt,
} from "../src/protocol/index.js";
import { type BenchResult, measure, printTable } from "./harness.js";

const minMs = Number(process.env.BENCH_MS ?? 1000);
const results: BenchResult[] = [];
const add = (name: string, fn: () => void, target?: number): void => {
  const opsPerSec = measure(fn, minMs);
  results.push(target === undefined ? { name, opsPerSec } : { name, opsPerSec, target });
  process.stderr.write(`${name}: ${Math.round(opsPerSec)} ops/s\n`);
};

function sampleEnvelope(payloadSize: number): Envelope {
  return createEnvelope({
    uid: "d0b1a7b4-1c5e-4c1e-9a43-000000000001",
    timestamp: 1700000000,
    expiration: 300,
    source: { twin: 11, connection: "sess1" },
    destination: { twin: 22 },
    message: { kind: "request", command: "zos.system.version" },
    schema: "application/json",
    signature: randomBytes(65),
    payload: { kind: "cipher", data: randomBytes(payloadSize) },
  });
}

for (const size of [100, 1024]) {
  const env = sampleEnvelope(size);
  const target = size === 1024 ? 200_000 : undefined;
  add(`envelope encode+decode (${size} B payload)`, () => decodeEnvelope(encodeEnvelope(env)), target);
}
{
  const bytes = encodeEnvelope(sampleEnvelope(1024));
  add("envelope decode only (1 KiB payload)", () => decodeEnvelope(bytes));
  const env = sampleEnvelope(1024);
  add("envelope challenge MD5 (1 KiB payload)", () => envelopeDigest(env));
}

const digest = randomBytes(16);
const targets = { ed25519: [20_000, 8_000], sr25519: [4_000, 2_500] } as const;
for (const keyType of ["ed25519", "sr25519"] as const) {
  const signer = createSigner("//Alice", keyType);
  const sig = signer.sign(digest);
  add(`${keyType} sign`, () => signer.sign(digest), targets[keyType][0]);
  add(`${keyType} verify`, () => verifySignature(signer.publicKey, digest, sig), targets[keyType][1]);
}
{
  const signer = createSigner("//Alice", "ed25519");
  const env = sampleEnvelope(1024);
  add("sign envelope (ed25519, 1 KiB payload, incl. MD5)", () => signEnvelope(env, signer));
}

{
  const words = "neck stage box cup core magic produce exercise happy rely vocal then";
  const peer = "tackle blouse grain dawn adult loyal tattoo price access tilt chimney silk";
  const a = loadIdentity(words, "sr25519").e2e!;
  const b = loadIdentity(peer, "sr25519").e2e!;
  const cipherA = new E2eCipher(a.secret);
  const cipherB = new E2eCipher(b.secret);
  for (const size of [100, 1024]) {
    const plain = randomBytes(size);
    const sealed = cipherA.encryptFor(b.publicKey, plain);
    add(`e2e encrypt (${size} B, cached shared key)`, () => cipherA.encryptFor(b.publicKey, plain));
    add(`e2e decrypt (${size} B, cached shared key)`, () => cipherB.decryptFrom(a.publicKey, sealed));
  }
  add("e2e shared key derivation (ECDH + SHA-256, uncached)", () =>
    new E2eCipher(a.secret).sharedKey(b.publicKey),
  );
}

{
  const signer = createSigner("//Alice", "ed25519");
  const token = createJwt(signer, { twin: 1, ttl: 3600 });
  add("JWT verify (ed25519)", () => verifyJwt(token, { accountId: signer.publicKey }));
  const srSigner = createSigner("//Alice", "sr25519");
  const srToken = createJwt(srSigner, { twin: 1, ttl: 3600 });
  add("JWT verify (sr25519)", () => verifyJwt(srToken, { accountId: srSigner.publicKey }));
}

printTable("Protocol core (single core)", results);
