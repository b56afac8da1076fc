// Runs in the page (headless Chromium), with the browser bundle. The Node test calls these through
// `window.scenario` and asserts on what they return (plain JSON values).
import * as rmb from "/rmb-sdk.js";

/** Twins of this page by name: { client, transport, identity }. */
const twins = new Map();

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (text) => new Uint8Array(text.match(/../g).map((h) => Number.parseInt(h, 16)));

/** What the page derives from a secret: compared byte for byte with Node's derivation. */
export function inspect(secret, keyType) {
  const identity = rmb.loadIdentity(secret, keyType);
  const message = new TextEncoder().encode("rmb-ts browser signature check");
  return {
    account: hex(identity.publicKey),
    ss58: identity.ss58,
    pk: identity.e2e === undefined ? null : hex(identity.e2e.publicKey),
    signature: hex(identity.signer.sign(message)),
    backends: { ed25519: rmb.ed25519BackendName(), sr25519: rmb.sr25519BackendName() },
  };
}

/** `true` when `signature` (hex, 65 bytes) of the check message verifies for `account` (hex). */
export function verify(account, signature) {
  const message = new TextEncoder().encode("rmb-ts browser signature check");
  try {
    rmb.verifySignature(fromHex(account), message, fromHex(signature));
    return true;
  } catch {
    return false;
  }
}

/**
 * Registers a twin for `secret` in the registrar (as a user would: proof of key ownership, relay domain and
 * encryption key), connects a client over the standard WebSocket and serves `browser.*` commands.
 */
export async function connect(name, { secret, keyType, registrar, relays, domain, relay }) {
  const identity = rmb.loadIdentity(secret, keyType);
  const registry = new rmb.RegistrarClient({ url: registrar });
  const twin = await registry.createTwin(identity.signer, { relays: [domain], pk: identity.e2e.publicKey });
  let transport;
  const client = await rmb.connectBrowserClient({
    identity,
    registry,
    relays,
    relay,
    connectTimeout: 10_000,
    onTransport: (t) => {
      transport = t;
    },
  });
  client.serve("browser.upper", (req) => rmb.text(req.text().toUpperCase()));
  client.serve("browser.sum", (req) => req.json().reduce((a, b) => a + b, 0));
  client.serve("browser.whoami", (req) => ({ twin: client.twinId, caller: req.source.twin, keyType }));
  client.serve("browser.fail", () => {
    throw new rmb.RmbHandlerError(409, "the page says no");
  });
  twins.set(name, { client, transport, identity });
  return { twin: twin.id, connected: client.connectedRelays };
}

/** Calls `command` on `destination` with a JSON payload (or raw bytes given as an array); returns the answer. */
export async function call(name, destination, command, payload, { raw = false, timeout = 10_000 } = {}) {
  const { client } = twins.get(name);
  try {
    const input = raw ? rmb.bytes(new Uint8Array(payload), "application/octet-stream") : payload;
    const res = await client.call(destination, command, input, { timeout });
    return {
      ok: true,
      source: res.source,
      schema: res.schema ?? null,
      value: raw ? Array.from(res.data) : res.json(),
    };
  } catch (err) {
    return {
      ok: false,
      name: err.name,
      code: err.code ?? null,
      wireCode: err.wireCode ?? null,
      message: err.message,
    };
  }
}

/** The links of a twin's transport (state and counters). */
export function links(name) {
  return twins.get(name).transport.links.map((l) => ({ url: l.url, state: l.state, stats: { ...l.stats } }));
}

/** Waits `ms` in the page (its timers keep running: pings go out meanwhile). */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function closeAll() {
  for (const { client } of twins.values()) await client.close();
  twins.clear();
}
