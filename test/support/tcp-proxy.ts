import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 whose behaviour a test switches at any moment, to put network faults between a client
 * and a server that a real network produces only by accident:
 *
 * - `pass`: bytes flow both ways (with backpressure).
 * - `drop`: every byte from now on is swallowed, both ways; sockets stay open (a black hole: lost NAT state, a
 *   dead route). Connections that saw it stay black-holed after the mode changes back (their byte streams have
 *   gaps); new connections in this mode are accepted and black-holed too.
 * - `stall`: nothing is forwarded but nothing is lost: both sockets stop being read, so the kernel buffers fill
 *   (a frozen path, a stopped process). Back to `pass`, everything flows on; new connections wait the same way.
 * - `half-close`: the proxy sends FIN `toward` one side and forwards nothing more; the other side hears nothing
 *   (a half-open connection). New connections get the same.
 * - `slow`: every chunk waits `delayMs` after the previous one in its direction (order kept): high latency and
 *   low throughput. Back to `pass`, what is queued is flushed first.
 * - `reset`: every connection is reset (RST) at once, and so is every new one.
 *
 * @example
 * const proxy = await startTcpProxy(relayPort);
 * client = connect(`ws://127.0.0.1:${proxy.port}`);
 * proxy.setMode({ kind: "stall" });
 * proxy.setMode({ kind: "pass" });
 * await proxy.stop();
 */
export type ProxyMode =
  | { kind: "pass" }
  | { kind: "drop" }
  | { kind: "stall" }
  | { kind: "half-close"; toward: "client" | "server" }
  | { kind: "slow"; delayMs: number }
  | { kind: "reset" };

/** Counters of a proxy since it started. */
export interface ProxyStats {
  /** Connections accepted. */
  accepted: number;
  /** Bytes forwarded client → server and server → client. */
  bytesUp: number;
  bytesDown: number;
  /** Bytes swallowed by `drop` (or after a half-close). */
  bytesDropped: number;
  /** Connections reset by `reset`. */
  resets: number;
  /** Half-closes sent by `half-close`. */
  halfCloses: number;
}

export interface TcpProxy {
  readonly port: number;
  readonly mode: ProxyMode;
  readonly stats: Readonly<ProxyStats>;
  /** Connections open now (both sockets alive). */
  readonly liveConnections: number;
  /** Switches the behaviour for the current and future connections. */
  setMode(mode: ProxyMode): void;
  /** Closes the listener and destroys every connection. */
  stop(): Promise<void>;
}

type Direction = "up" | "down";

/** One proxied connection. `fate` is what it suffers for good (a black hole or a half-close outlives the mode). */
interface Pair {
  client: Socket;
  server: Socket;
  fate: "live" | "black-hole" | "half-closed" | "dead";
  /** Chunks waiting to be written (stall, slow, or behind a slow write), per direction, in order. */
  queue: Record<Direction, Buffer[]>;
  /** A timer of `slow` is running for the direction. */
  timer: Record<Direction, NodeJS.Timeout | undefined>;
}

export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const stats: ProxyStats = {
    accepted: 0,
    bytesUp: 0,
    bytesDown: 0,
    bytesDropped: 0,
    resets: 0,
    halfCloses: 0,
  };
  let mode: ProxyMode = { kind: "pass" };

  const source = (p: Pair, d: Direction) => (d === "up" ? p.client : p.server);
  const sink = (p: Pair, d: Direction) => (d === "up" ? p.server : p.client);

  const kill = (p: Pair): void => {
    if (p.fate === "dead") return;
    p.fate = "dead";
    for (const d of ["up", "down"] as const) {
      if (p.timer[d] !== undefined) clearTimeout(p.timer[d]);
      p.queue[d] = [];
    }
    p.client.destroy();
    p.server.destroy();
    pairs.delete(p);
  };

  const write = (p: Pair, d: Direction, chunk: Buffer): void => {
    const out = sink(p, d);
    if (out.destroyed || out.writableEnded) return;
    if (d === "up") stats.bytesUp += chunk.length;
    else stats.bytesDown += chunk.length;
    if (!out.write(chunk)) {
      // Backpressure: stop reading the other side until this one drains.
      const from = source(p, d);
      from.pause();
      out.once("drain", () => {
        if (p.fate === "live" && mode.kind !== "stall") from.resume();
      });
    }
  };

  /** Writes what is queued for `d` as the mode allows: all at once (pass), one chunk per delay (slow). */
  const flush = (p: Pair, d: Direction): void => {
    if (p.fate !== "live" || p.timer[d] !== undefined) return;
    if (mode.kind === "pass") {
      for (const chunk of p.queue[d].splice(0)) write(p, d, chunk);
    } else if (mode.kind === "slow" && p.queue[d].length > 0) {
      const delay = mode.delayMs;
      p.timer[d] = setTimeout(() => {
        p.timer[d] = undefined;
        const chunk = p.queue[d].shift();
        if (chunk !== undefined && p.fate === "live") write(p, d, chunk);
        flush(p, d);
      }, delay);
    }
  };

  const onData = (p: Pair, d: Direction, chunk: Buffer): void => {
    if (p.fate !== "live") {
      stats.bytesDropped += chunk.length;
      return;
    }
    p.queue[d].push(chunk);
    flush(p, d);
  };

  /** Puts `p` under the current mode. */
  const apply = (p: Pair): void => {
    if (p.fate !== "live") return;
    switch (mode.kind) {
      case "pass":
      case "slow":
        p.client.resume();
        p.server.resume();
        flush(p, "up");
        flush(p, "down");
        return;
      case "stall":
        p.client.pause();
        p.server.pause();
        return;
      case "drop":
        p.fate = "black-hole";
        stats.bytesDropped += [...p.queue.up, ...p.queue.down].reduce((n, c) => n + c.length, 0);
        p.queue = { up: [], down: [] };
        // Keep reading (and swallowing) so that the senders are not pushed back: they believe it all went out.
        p.client.resume();
        p.server.resume();
        return;
      case "half-close": {
        p.fate = "half-closed";
        p.queue = { up: [], down: [] };
        stats.halfCloses += 1;
        (mode.toward === "client" ? p.client : p.server).end();
        p.client.resume();
        p.server.resume();
        return;
      }
      case "reset":
        stats.resets += 1;
        p.client.resetAndDestroy();
        p.server.resetAndDestroy();
        kill(p);
        return;
    }
  };

  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    stats.accepted += 1;
    const upstream = tcpConnect({ port: targetPort, host: targetHost, allowHalfOpen: true });
    const p: Pair = {
      client,
      server: upstream,
      fate: "live",
      queue: { up: [], down: [] },
      timer: { up: undefined, down: undefined },
    };
    pairs.add(p);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on("data", (chunk: Buffer) => onData(p, "up", chunk));
    upstream.on("data", (chunk: Buffer) => onData(p, "down", chunk));
    // A FIN from one side is passed on (after what is queued) while the pair is live.
    const onEnd = (d: Direction) => () => {
      if (p.fate !== "live") return;
      const finish = () => {
        if (p.queue[d].length > 0 || p.timer[d] !== undefined) {
          setTimeout(finish, 5);
          return;
        }
        if (p.fate === "live") sink(p, d).end();
      };
      finish();
    };
    client.on("end", onEnd("up"));
    upstream.on("end", onEnd("down"));
    // The client gone, nothing is left to fool. The server gone: passed on while live; a black-holed or
    // half-closed client keeps hearing nothing.
    client.on("close", () => kill(p));
    client.on("error", () => kill(p));
    const serverGone = () => {
      if (p.fate === "live") kill(p);
    };
    upstream.on("close", serverGone);
    upstream.on("error", serverGone);
    apply(p);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    port,
    get mode() {
      return mode;
    },
    stats,
    get liveConnections() {
      return [...pairs].filter((p) => p.fate === "live").length;
    },
    setMode(next) {
      mode = next;
      for (const p of [...pairs]) apply(p);
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const p of [...pairs]) kill(p);
      await closed;
    },
  };
}
