import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import WebSocket from "ws";

/**
 * Headless Chromium driven over the DevTools protocol (raw CDP on a `ws` socket: no puppeteer), for the browser
 * tests. `launchChromium()` starts Debian's `chromium` (or `RMB_TEST_CHROMIUM`) with a throw-away profile;
 * `close()` ends it (Browser.close, then SIGKILL of its process group) and removes the profile.
 */

/** Where the binary is looked for when `RMB_TEST_CHROMIUM` is not set. */
const CANDIDATES = ["chromium", "chromium-browser", "/usr/bin/chromium", "/usr/lib/chromium/chromium"];

/** The Chromium binary, or an Error saying how to get one. */
export function findChromium(): string | Error {
  const fromEnv = process.env.RMB_TEST_CHROMIUM;
  if (fromEnv !== undefined && fromEnv !== "") {
    return isExecutable(fromEnv)
      ? fromEnv
      : new Error(`RMB_TEST_CHROMIUM=${fromEnv} is not an executable file`);
  }
  for (const name of CANDIDATES) {
    if (name.includes("/")) {
      if (isExecutable(name)) return name;
      continue;
    }
    for (const dir of (process.env.PATH ?? "").split(delimiter)) {
      const path = join(dir, name);
      if (dir !== "" && isExecutable(path)) return path;
    }
  }
  return new Error(
    "no Chromium found (looked for chromium, chromium-browser, /usr/bin/chromium): install Debian's package " +
      "(apt-get install chromium; .ci/run does) or set RMB_TEST_CHROMIUM to a Chromium/Chrome binary",
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/** One CDP websocket: commands (optionally to a session) and events. */
export class CdpConnection {
  readonly #ws: WebSocket;
  readonly #pending = new Map<
    number,
    { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  readonly #listeners = new Set<(m: CdpMessage) => void>();
  #next = 1;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on("message", (data: Buffer) => {
      const msg = JSON.parse(data.toString("utf8")) as CdpMessage;
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error !== undefined) p?.reject(new Error(`CDP: ${msg.error.message}`));
        else p?.resolve(msg.result ?? {});
        return;
      }
      for (const l of this.#listeners) l(msg);
    });
    ws.on("close", () => {
      for (const p of this.#pending.values()) p.reject(new Error("CDP connection closed"));
      this.#pending.clear();
    });
  }

  static async open(url: string): Promise<CdpConnection> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new CdpConnection(ws);
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(
        JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) }),
      );
    });
  }

  on(listener: (m: CdpMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#ws.terminate();
  }
}

/** A page (tab) of the browser. */
export class ChromiumPage {
  /** Console messages and uncaught exceptions of the page, for failure messages. */
  readonly log: string[] = [];
  readonly #cdp: CdpConnection;
  readonly #session: string;

  constructor(cdp: CdpConnection, session: string) {
    this.#cdp = cdp;
    this.#session = session;
    cdp.on((m) => {
      if (m.sessionId !== session) return;
      if (m.method === "Runtime.consoleAPICalled") {
        const args = (m.params?.args as { value?: unknown; description?: string }[] | undefined) ?? [];
        this.log.push(
          `console.${String(m.params?.type)}: ${args.map((a) => a.description ?? String(a.value)).join(" ")}`,
        );
      } else if (m.method === "Runtime.exceptionThrown") {
        const d = m.params?.exceptionDetails as
          | { text?: string; exception?: { description?: string } }
          | undefined;
        this.log.push(`uncaught: ${d?.exception?.description ?? d?.text ?? "?"}`);
      }
    });
  }

  /** Loads `url` and resolves on its load event. */
  async goto(url: string, timeoutMs = 15_000): Promise<void> {
    let off: () => void = () => undefined;
    const loaded = new Promise<void>((resolve) => {
      off = this.#cdp.on((m) => {
        if (m.sessionId === this.#session && m.method === "Page.loadEventFired") resolve();
      });
    });
    try {
      const nav = await this.#cdp.send("Page.navigate", { url }, this.#session);
      if (typeof nav.errorText === "string") throw new Error(`navigation to ${url} failed: ${nav.errorText}`);
      await withTimeout(loaded, timeoutMs, `page ${url} did not load within ${timeoutMs} ms`);
    } finally {
      off();
    }
  }

  /**
   * Evaluates `expression` in the page, awaits it if it is a promise and returns its value (JSON-serialisable).
   * A rejection or throw in the page rejects here with the page's error text.
   */
  async evaluate<T>(expression: string, timeoutMs = 20_000): Promise<T> {
    const res = await withTimeout(
      this.#cdp.send(
        "Runtime.evaluate",
        { expression, awaitPromise: true, returnByValue: true, timeout: timeoutMs },
        this.#session,
      ),
      timeoutMs + 1000,
      `page evaluation did not finish within ${timeoutMs} ms: ${expression.slice(0, 120)}`,
    );
    const details = res.exceptionDetails as
      | { text?: string; exception?: { description?: string; value?: unknown } }
      | undefined;
    if (details !== undefined) {
      const text = details.exception?.description ?? String(details.exception?.value ?? details.text);
      throw new Error(`in the page: ${text}`);
    }
    return (res.result as { value?: unknown } | undefined)?.value as T;
  }
}

/** A running headless Chromium. */
export class Chromium {
  readonly #proc: ChildProcess;
  readonly #cdp: CdpConnection;
  readonly #profile: string;
  readonly #exited: Promise<void>;
  #closed = false;

  private constructor(proc: ChildProcess, cdp: CdpConnection, profile: string, exited: Promise<void>) {
    this.#proc = proc;
    this.#cdp = cdp;
    this.#profile = profile;
    this.#exited = exited;
  }

  /** Starts `binary` headless with a fresh profile; rejects (after cleaning up) if DevTools is not up in time. */
  static async launch(binary: string, timeoutMs = 20_000): Promise<Chromium> {
    const profile = mkdtempSync(join(tmpdir(), "rmb-chromium-"));
    const proc = spawn(
      binary,
      [
        "--headless=new",
        "--no-sandbox", // CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--mute-audio",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      { stdio: ["ignore", "ignore", "pipe"], detached: true },
    );
    let stderr = "";
    proc.stderr?.setEncoding("utf8");
    proc.stderr?.on("data", (chunk: string) => {
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    const exited = new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once("exit", () => resolve());
    });
    const spawnError = new Promise<Error>((resolve) => proc.once("error", resolve));
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        const deadline = Date.now() + timeoutMs;
        const poll = setInterval(() => {
          // Chromium writes "<port>\n<browser target path>" once DevTools listens.
          try {
            const [port, path] = readFileSync(join(profile, "DevToolsActivePort"), "utf8").split("\n");
            if (port !== undefined && path !== undefined && path !== "") {
              clearInterval(poll);
              resolve(`ws://127.0.0.1:${port}${path}`);
              return;
            }
          } catch {
            // not written yet
          }
          if (proc.exitCode !== null || proc.signalCode !== null) {
            clearInterval(poll);
            reject(
              new Error(
                `chromium exited (${proc.exitCode ?? proc.signalCode}) before DevTools was up:\n${stderr}`,
              ),
            );
          } else if (Date.now() > deadline) {
            clearInterval(poll);
            reject(new Error(`chromium's DevTools was not up within ${timeoutMs} ms:\n${stderr}`));
          }
        }, 50);
        void spawnError.then((err) => {
          clearInterval(poll);
          reject(new Error(`cannot start ${binary}: ${err.message}`));
        });
      });
      const cdp = await CdpConnection.open(endpoint);
      return new Chromium(proc, cdp, profile, exited);
    } catch (err) {
      await killGroup(proc);
      await withTimeout(exited, 5000, "").catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
      throw err;
    }
  }

  /** Opens a new tab on about:blank, with console capture. */
  async newPage(): Promise<ChromiumPage> {
    const { targetId } = (await this.#cdp.send("Target.createTarget", { url: "about:blank" })) as {
      targetId: string;
    };
    const { sessionId } = (await this.#cdp.send("Target.attachToTarget", { targetId, flatten: true })) as {
      sessionId: string;
    };
    const page = new ChromiumPage(this.#cdp, sessionId);
    await this.#cdp.send("Runtime.enable", {}, sessionId);
    await this.#cdp.send("Page.enable", {}, sessionId);
    return page;
  }

  /** Closes the browser (and every process it started) and removes its profile. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await withTimeout(this.#cdp.send("Browser.close"), 3000, "").catch(() => undefined);
    this.#cdp.close();
    const exited = await withTimeout(this.#exited, 5000, "Chromium did not exit").then(
      () => true,
      () => false,
    );
    // Helpers (renderer, GPU, zygote) share the browser's process group: end any that linger.
    await killGroup(this.#proc);
    if (!exited) await withTimeout(this.#exited, 5000, "").catch(() => undefined);
    rmSync(this.#profile, { recursive: true, force: true });
  }
}

/**
 * SIGKILL to the process group of `proc` (spawned `detached`, so the group is Chromium's alone), then waits (at most
 * 3 s) until no process of the group is left.
 */
async function killGroup(proc: ChildProcess): Promise<void> {
  if (proc.pid === undefined) return;
  const group = -proc.pid;
  try {
    process.kill(group, "SIGKILL");
  } catch {
    return; // already gone
  }
  for (const deadline = Date.now() + 3000; Date.now() < deadline; ) {
    try {
      process.kill(group, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
