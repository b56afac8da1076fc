/**
 * A small RMB client: calls the example service (examples/service.ts) as the twin of $RMB_SECRET.
 *
 *   RMB_SECRET="<alice's mnemonic>" node dist/examples/client.js <service twin id>
 *
 * Outside this repository import from "rmb-ts/sdk", "rmb-ts/identity" and "rmb-ts/registry".
 */
import { KeyType, loadIdentity } from "../src/identity/index.js";
import { RegistrarClient } from "../src/registry/index.js";
import { RmbCallError, RmbClient } from "../src/sdk/index.js";

const relay = process.env.RMB_RELAY ?? "ws://localhost:8080";
const registrar = process.env.RMB_REGISTRAR ?? "http://127.0.0.1:8080";
const secret = process.env.RMB_SECRET;
const service = Number(process.argv[2]);
if (secret === undefined || !Number.isInteger(service)) {
  throw new Error("usage: RMB_SECRET=<mnemonic> node dist/examples/client.js <service twin id>");
}

const client = await RmbClient.connect({
  identity: loadIdentity(secret, (process.env.RMB_KEY_TYPE as KeyType | undefined) ?? KeyType.Sr25519),
  registry: new RegistrarClient({ url: registrar }),
  relays: [relay],
  session: "random", // a calling-only client: its own session, so it never displaces the twin's services
});
try {
  const sum = await client.call(service, "calc.add", { a: 2, b: 3 }, { timeout: 10_000 });
  console.log(`2 + 3 = ${sum.json<number>()}`);
  try {
    await client.call(service, "calc.div", { a: 1, b: 0 });
  } catch (err) {
    if (!(err instanceof RmbCallError)) throw err;
    console.log(`1 / 0 → error ${err.wireCode}: ${err.message}`);
  }
  const results = await client.callMany([service, 999_999], "calc.add", { a: 1, b: 1 }, { timeout: 5000 });
  for (const r of results) {
    console.log(`twin ${r.destination.twin}: ${r.ok ? r.response.json<number>() : r.error.message}`);
  }
} finally {
  await client.close();
}
