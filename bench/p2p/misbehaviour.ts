import type { AgentHandler, AgentTransport, Random } from "../../src/p2p/index.js";

/**
 * A transport whose agent answers every search with a forged record: a real twin's id, tags that match the query,
 * and a random signature (what a liar or a broken cache would send).
 */
export function forgingTransport(
  inner: AgentTransport,
  random: Random,
  twins: () => number,
  now: () => number,
): AgentTransport {
  return {
    self: inner.self,
    request: (to, command, body, timeoutMs) => inner.request(to, command, body, timeoutMs),
    serve(command: string, handler: AgentHandler) {
      if (command !== "p2p.search") return inner.serve(command, handler);
      return inner.serve(command, (_from, body) => {
        const q = (body as { q?: unknown }).q;
        const tags = typeof q === "string" ? { category: q } : { category: "compute", ...(q as object) };
        let signature = "";
        for (let i = 0; i < 130; i++) signature += Math.floor(random() * 16).toString(16);
        const issuedAt = Math.floor(now());
        const victim = 1 + Math.floor(random() * twins());
        const rec = { twin: victim, tags, issuedAt, expiresAt: issuedAt + 60_000, signature };
        return { r: [{ rec, rep: 1 }], d: 0 };
      });
    },
  };
}

/** A transport whose agent answers pings (so it stays a member) but never answers a search. */
export function silentTransport(inner: AgentTransport): AgentTransport {
  return {
    self: inner.self,
    request: (to, command, body, timeoutMs) => inner.request(to, command, body, timeoutMs),
    serve(command: string, handler: AgentHandler) {
      if (command !== "p2p.search") return inner.serve(command, handler);
      return inner.serve(command, () => new Promise<never>(() => {}));
    },
  };
}
