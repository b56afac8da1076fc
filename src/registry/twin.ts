/**
 * A twin as the relay needs it (tfchain `Twin`, §6 of the wire spec): its account id (the 32-byte public key that
 * signs its JWTs), the relay domains it can be reached through, and its optional secp256k1 end-to-end key.
 */
export interface Twin {
  /** Twin id (`uint32`, ≥ 1). */
  id: number;
  /** 32-byte account id (ed25519 or sr25519 public key). */
  accountId: Uint8Array;
  /** Relay domains, from the chain `relay` field split on `_`; `undefined` = not set. */
  relays?: string[];
  /** 33-byte compressed secp256k1 public key for end-to-end encryption. */
  pk?: Uint8Array;
}

/** Splits a chain `relay` field (`"r1.example_r2.example"`) into domains, dropping empty parts. */
export function parseRelayField(field: string): string[] {
  return field.split("_").filter((d) => d.length > 0);
}

/** A deep copy, so that callers cannot change a stored or cached record. */
export function copyTwin(twin: Twin): Twin {
  const out: Twin = { id: twin.id, accountId: Uint8Array.from(twin.accountId) };
  if (twin.relays !== undefined) out.relays = [...twin.relays];
  if (twin.pk !== undefined) out.pk = Uint8Array.from(twin.pk);
  return out;
}
