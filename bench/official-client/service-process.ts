/**
 * Child process of the official-client benchmark: our relay (embedded mode) on 127.0.0.1, or an echo service on
 * our `RmbClient`, each in a process (and so on a core) of its own, as deployed.
 *
 * Usage: `node dist/bench/official-client/service-process.js '<ServiceSpec JSON>'` with an IPC channel. Sends
 * `{type:"ready", port}` once serving or `{type:"error"}` and exits; exits when the parent goes away.
 */
import { loadIdentity } from "../../src/identity/index.js";
import { RelayServer } from "../../src/relay/index.js";
import { bytes, RmbClient } from "../../src/sdk/index.js";
import { benchRegistry, OFFICIAL_BENCH_DOMAIN, type ServiceMessage, type ServiceSpec } from "./twins.js";

const HOST = "127.0.0.1";

function send(message: ServiceMessage): void {
  process.send?.(message);
}

function fail(err: unknown): never {
  send({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "") as ServiceSpec;
  // The parent died or dropped us: nothing to serve any more.
  process.on("disconnect", () => process.exit(0));
  process.on("SIGTERM", () => process.exit(0));
  process.on("unhandledRejection", fail);
  process.on("uncaughtException", fail);

  const registry = benchRegistry(spec.twins);
  if (spec.kind === "relay") {
    const relay = new RelayServer({ domains: [OFFICIAL_BENCH_DOMAIN], registry, host: HOST });
    send({ type: "ready", port: (await relay.start()).port });
    return;
  }
  const client = await RmbClient.connect({
    identity: loadIdentity(spec.secret, spec.keyType),
    registry,
    relays: [`ws://${HOST}:${spec.port}`],
  });
  // Echo the payload with the request's schema: the official client verifies an answer's signature as though its
  // schema were `application/json` whatever it says, so an answer without that schema fails its check (see the
  // benchmark's header comment).
  client.serve(spec.command, (req) => bytes(req.data, req.schema));
  send({ type: "ready", port: spec.port });
}

main().catch(fail);
