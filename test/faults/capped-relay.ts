import { RmbClient } from "../../src/sdk/index.js";
import { type RelayProcess, startRelayProcess } from "../support/relay-process.js";
import { type SetTwin, TwinSet } from "../support/twin-set.js";

/** A relay process whose session queues hold at most `queueLength` entries, with its twins and a client factory. */
export interface CappedRelay {
  /** Three twins on the relay's domain, ids 1–3 (in its twins file before it started). */
  twins: [SetTwin, SetTwin, SetTwin];
  relay: RelayProcess;
  /** Connects `twin` to the relay (closed by the test's teardown). */
  connect(twin: SetTwin, extra?: { maxConcurrentRequests?: number }): Promise<RmbClient>;
}

/**
 * Makes three twins on `domain` and starts a relay process for it with `--queue-length queueLength`, both undone
 * by `undo` (a test's `teardown`).
 */
export async function startCappedRelay(
  undo: (step: () => unknown) => void,
  domain: string,
  queueLength: number,
): Promise<CappedRelay> {
  const twins = new TwinSet();
  undo(() => twins.remove());
  const added: [SetTwin, SetTwin, SetTwin] = [twins.add([domain]), twins.add([domain]), twins.add([domain])];
  const relay = await startRelayProcess({
    domain,
    twinsFile: twins.file,
    args: ["--queue-length", String(queueLength)],
  });
  undo(() => relay.kill());
  const connect = async (twin: SetTwin, extra: { maxConcurrentRequests?: number } = {}) => {
    const client = await RmbClient.connect({
      identity: twin.identity,
      registry: twins.registry,
      relays: [relay.wsUrl],
      twinId: twin.id,
      ...extra,
    });
    undo(() => client.close());
    return client;
  };
  return { twins: added, relay, connect };
}

/** The relay's `/metrics` text. */
export async function relayMetrics(httpUrl: string): Promise<string> {
  return fetch(`${httpUrl}metrics`).then((r) => r.text());
}

/** One counter of the relay's `/metrics`: the first group of `pattern`. */
export async function relayMetric(httpUrl: string, pattern: RegExp): Promise<number> {
  const m = pattern.exec(await relayMetrics(httpUrl));
  if (m === null) throw new Error(`no ${pattern} in /metrics`);
  return Number(m[1]);
}
