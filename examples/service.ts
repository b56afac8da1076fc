/**
 * A small RMB service: answers `calc.add` and `calc.div` as the twin of $RMB_SECRET.
 *
 *   npm start                      # a devnet in another terminal (prints the demo twins' secrets)
 *   RMB_SECRET="<carol's mnemonic>" node dist/examples/service.js
 *
 * Outside this repository import from "rmb-ts/sdk", "rmb-ts/identity" and "rmb-ts/registry".
 */
import { KeyType, loadIdentity } from "../src/identity/index.js";
import { RegistrarClient } from "../src/registry/index.js";
import { RmbClient, RmbHandlerError } from "../src/sdk/index.js";

const relay = process.env.RMB_RELAY ?? "ws://localhost:8080";
const registrar = process.env.RMB_REGISTRAR ?? "http://127.0.0.1:8080";
const secret = process.env.RMB_SECRET;
if (secret === undefined) throw new Error("set RMB_SECRET to the service twin's mnemonic");

const client = await RmbClient.connect({
  identity: loadIdentity(secret, (process.env.RMB_KEY_TYPE as KeyType | undefined) ?? KeyType.Sr25519),
  registry: new RegistrarClient({ url: registrar }),
  relays: [relay],
});

interface Operands {
  a: number;
  b: number;
}

client.serve("calc.add", (req) => {
  const { a, b } = req.json<Operands>();
  return a + b;
});
client.serve("calc.div", (req) => {
  const { a, b } = req.json<Operands>();
  if (b === 0) throw new RmbHandlerError(400, "division by zero");
  return a / b;
});

console.log(`service: twin ${client.twinId} serves calc.add and calc.div over ${relay}`);
const stop = async () => {
  await client.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
