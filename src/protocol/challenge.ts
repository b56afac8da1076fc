import { createHash } from "node:crypto";
import type { Address, Envelope } from "./envelope.js";

/**
 * The text part of the signature challenge (rmb-rs `impl Challengeable for Envelope`): everything before the
 * payload bytes, as one string. Numbers are base-10, nothing is separated; absent optional fields add nothing,
 * an absent address adds `0`.
 */
function challengeHead(env: Envelope): string {
  let s = env.uid;
  if (env.tags !== undefined) s += env.tags;
  s += `${env.timestamp}${env.expiration}`;
  s += addressPart(env.source);
  s += addressPart(env.destination);
  const msg = env.message;
  if (msg !== undefined) {
    if (msg.kind === "request") s += msg.command;
    else if (msg.kind === "error") s += `${msg.code}${msg.message}`;
  }
  if (env.schema !== undefined) s += env.schema;
  if (env.federation !== undefined) s += env.federation;
  return s;
}

function addressPart(a: Address | undefined): string {
  if (a === undefined) return "0";
  return a.connection === undefined ? `${a.twin}` : `${a.twin}${a.connection}`;
}

/** The full challenge bytes: head text, payload bytes, then each deprecated `relays` entry. */
export function envelopeChallenge(env: Envelope): Uint8Array {
  const head = Buffer.from(challengeHead(env), "utf8");
  const payload = env.payload?.data;
  const tail = env.relays.length === 0 ? undefined : Buffer.from(env.relays.join(""), "utf8");
  return Buffer.concat([head, payload, tail].filter((p): p is Uint8Array => p !== undefined && p.length > 0));
}

/** The 16-byte MD5 digest of the challenge: the message that envelope signatures sign. */
export function envelopeDigest(env: Envelope): Uint8Array {
  const h = createHash("md5");
  h.update(challengeHead(env), "utf8");
  if (env.payload !== undefined && env.payload.data.length > 0) h.update(env.payload.data);
  if (env.relays.length !== 0) h.update(env.relays.join(""), "utf8");
  return h.digest();
}
