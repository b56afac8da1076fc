import type { Signer } from "../identity/signer.js";
import { verifySignature } from "../identity/verify.js";
import { envelopeDigest } from "./challenge.js";
import type { Envelope } from "./envelope.js";
import { EnvelopeSignatureError } from "./errors.js";

/** Signs the envelope in place (sets `signature`) and returns it. Sign after encrypting: the challenge covers the payload on the wire. */
export function signEnvelope<E extends Envelope>(env: E, signer: Signer): E {
  env.signature = signer.sign(envelopeDigest(env));
  return env;
}

/**
 * Verifies the envelope signature against a twin's 32-byte account id. Throws `EnvelopeSignatureError` whose
 * message is the rmb-rs reason (`message is not signed`, `invalid signature length, …`, …).
 */
export function verifyEnvelope(env: Envelope, accountId: Uint8Array): void {
  if (env.signature === undefined) throw new EnvelopeSignatureError("message is not signed");
  try {
    verifySignature(accountId, envelopeDigest(env), env.signature);
  } catch (cause) {
    throw new EnvelopeSignatureError(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}
