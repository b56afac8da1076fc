import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { TwinExistsError } from "../errors.js";
import { accountToJson, relaysProblem, rmbEncKeyProblem } from "./account.js";
import type { AccountPatch } from "./account-store.js";
import { parseAuthHeader, parseUint64 } from "./auth-header.js";
import { decodeStdBase64, encodeStdBase64 } from "./base64.js";
import { RegistrarOptionsError } from "./errors.js";
import { creationChallenge, verifyRawSignature } from "./proofs.js";
import {
  type RegistrarOptions,
  type ResolvedRegistrarOptions,
  resolveRegistrarOptions,
} from "./registrar-options.js";
import { bindCreateAccount, bindUpdateAccount } from "./request-binding.js";

const BASES = ["/api/v1", "/v1"] as const;

/** Thrown inside a handler to answer with a JSON error. */
class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, error: string, extra: Record<string, unknown> = {}) {
    super(error);
    this.status = status;
    this.body = { error, ...extra };
  }
}

/**
 * The registry service: the TFGrid v4 node-registrar **accounts API** (`POST/GET /accounts`, `PATCH
 * /accounts/:twin_id` with `X-Auth`, under both `/api/v1` and `/v1`), compatible with its clients, with the
 * upstream flaws fixed (docs/registry.md lists every difference): a duplicate key gets 409, relays and
 * `rmb_enc_key` are validated, an `X-Auth` header works once and not far in the future, PATCH keeps omitted
 * fields, CORS allows PATCH. Extension: `GET {base}/accounts/events`, a server-sent-events stream of every
 * account created or changed (what `RegistrarClient.watch` follows).
 *
 * `handle` can be mounted in another HTTP server; `start()` runs a server of its own.
 */
export class RegistrarService {
  readonly options: ResolvedRegistrarOptions;
  #server: Server | undefined;
  readonly #watchers = new Set<ServerResponse>();
  #unwatch: (() => void) | undefined;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(options: RegistrarOptions) {
    this.options = resolveRegistrarOptions(options);
    this.#unwatch = this.options.store.watch((account) => {
      const frame = `event: account\ndata: ${JSON.stringify(accountToJson(account))}\n\n`;
      for (const res of this.#watchers) res.write(frame);
    });
  }

  /** The base URL (`http://host:port`) once started. */
  get url(): string {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    if (address == null) throw new RegistrarOptionsError("port", "the registry service is not started");
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** Listens on `host:port`; resolves with the bound port. */
  async start(): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res);
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#keepAlive = setInterval(() => {
      for (const res of this.#watchers) res.write(": keep-alive\n\n");
    }, this.options.watchKeepAlive * 1000);
    this.#keepAlive.unref();
    return (server.address() as AddressInfo).port;
  }

  /** Stops listening, ends change streams and open connections. Does not close the store. */
  async stop(): Promise<void> {
    this.#unwatch?.();
    this.#unwatch = undefined;
    clearInterval(this.#keepAlive);
    for (const res of this.#watchers) res.end();
    this.#watchers.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /**
   * Serves one request if it is for the accounts API and returns `true`; returns `false` (and does nothing) for
   * any other path, so a host server can route it elsewhere. Called by `start()`'s own server, which answers
   * anything else with gin's plain-text `404 page not found`.
   */
  handle(req: IncomingMessage, res: ServerResponse, fallback = true): boolean {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://registrar");
    } catch {
      // A request target such as `//` or `//[` reads as a URL authority and does not parse (new URL throws). It is
      // no route of ours; thrown from here it would end the process (this runs in the server's request callback).
      if (fallback) this.#notFound(res);
      return fallback;
    }
    const base = BASES.find(
      (b) => url.pathname === `${b}/accounts` || url.pathname.startsWith(`${b}/accounts/`),
    );
    if (base === undefined) {
      if (fallback) this.#notFound(res);
      return fallback;
    }
    this.#cors(req, res);
    const rest = url.pathname.slice(base.length + "/accounts".length).replace(/^\//, "");
    const method = req.method ?? "GET";
    let work: Promise<void> | undefined;
    if (method === "OPTIONS") {
      res.writeHead(204).end();
      return true;
    }
    if (rest === "" && method === "POST") work = this.#create(req, res);
    else if (rest === "" && method === "GET") work = this.#get(url, res);
    else if (rest === "events" && method === "GET") work = this.#events(req, res);
    else if (method === "PATCH" && /^[^/]+\/?$/.test(rest))
      work = this.#update(req, res, rest.replace(/\/$/, ""));
    if (work === undefined) {
      this.#notFound(res);
      return true;
    }
    work.catch((err: unknown) => {
      if (err instanceof HttpError) this.#json(res, err.status, err.body);
      else this.#json(res, 500, { error: "internal error" });
    });
    return true;
  }

  async #create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bound = bindCreateAccount(await this.#body(req));
    if (!bound.ok) throw new HttpError(400, bound.error);
    const request = bound.value;
    const key = decodeStdBase64(request.publicKey);
    if (key === undefined || key.length !== 32) throw new HttpError(400, "invalid public key format");
    const nowMs = this.options.now();
    const delta = nowMs / 1000 - request.timestamp;
    if (delta < -this.options.creationWindow || delta > this.options.creationWindow) {
      throw new HttpError(400, "timestamp outside acceptable window", {
        server_time: Math.floor(nowMs / 1000),
      });
    }
    const signature = decodeStdBase64(request.signature);
    if (signature === undefined) throw new HttpError(400, "invalid signature format: illegal base64 data");
    const failure = verifyRawSignature(
      key,
      creationChallenge(request.timestamp, request.publicKey),
      signature,
    );
    if (failure !== undefined) throw new HttpError(401, `signature verification error: ${failure}`);
    const relays = request.relays ?? [];
    this.#validateFields(relays, request.rmbEncKey);
    try {
      const account = await this.options.store.create({
        publicKey: encodeStdBase64(key),
        relays,
        rmbEncKey: request.rmbEncKey ?? "",
      });
      this.#json(res, 201, accountToJson(account));
    } catch (err) {
      if (err instanceof TwinExistsError)
        throw new HttpError(409, "account with this public key already exists");
      throw new HttpError(500, "failed to create account");
    }
  }

  async #get(url: URL, res: ServerResponse): Promise<void> {
    const twinId = url.searchParams.get("twin_id") ?? "";
    const publicKey = url.searchParams.get("public_key") ?? "";
    if (twinId !== "" && publicKey !== "")
      throw new HttpError(400, "provide either twin_id or public_key, not both");
    if (twinId === "" && publicKey === "")
      throw new HttpError(400, "must provide either twin_id or public_key parameter");
    let account: Awaited<ReturnType<typeof this.options.store.getById>>;
    try {
      if (twinId !== "") {
        const id = parseUint64(twinId);
        if (id === undefined) throw new HttpError(400, "invalid twin ID");
        account =
          id > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : await this.options.store.getById(Number(id));
      } else {
        // A `+` sent unencoded arrives as a space (rmb-rs's registrar branch does that): put it back. Any spelling
        // of the same key finds it (upstream matches the stored text exactly).
        const key = decodeStdBase64(publicKey.replaceAll(" ", "+"));
        account =
          key === undefined || key.length !== 32
            ? undefined
            : await this.options.store.getByPublicKey(encodeStdBase64(key));
      }
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(500, "failed to get account");
    }
    if (account === undefined) throw new HttpError(404, "account not found");
    this.#json(res, 200, accountToJson(account));
  }

  async #update(req: IncomingMessage, res: ServerResponse, idText: string): Promise<void> {
    const authTwin = await this.#authenticate(req);
    const id = parseUint64(idText);
    if (id === undefined) throw new HttpError(400, "invalid twin ID");
    if (id === 0n || id !== BigInt(authTwin)) throw new HttpError(401, "not authorized");
    const bound = bindUpdateAccount(await this.#body(req));
    if (!bound.ok) throw new HttpError(400, "invalid request body");
    this.#validateFields(bound.value.relays ?? [], bound.value.rmbEncKey);
    const patch: AccountPatch = { relays: bound.value.relays, rmbEncKey: bound.value.rmbEncKey };
    let updated: Awaited<ReturnType<typeof this.options.store.update>>;
    try {
      updated = await this.options.store.update(authTwin, patch);
    } catch {
      throw new HttpError(500, "failed to update account");
    }
    if (updated === undefined) throw new HttpError(404, "account not found");
    this.#json(res, 200, { message: "account updated successfully" });
  }

  /**
   * Upstream's AuthMiddleware (same checks, order, statuses and texts) plus the future-skew and replay checks; the
   * header itself is read by {@link parseAuthHeader}.
   */
  async #authenticate(req: IncomingMessage): Promise<number> {
    const header = req.headers["x-auth"];
    const parsed = parseAuthHeader(Array.isArray(header) ? header[0] : header, {
      now: this.options.now() / 1000,
      validity: this.options.authValidity,
      futureSkew: this.options.authFutureSkew,
    });
    if (!parsed.ok) throw new HttpError(parsed.status, parsed.error);
    const { challenge, timestamp, twinId: id } = parsed;
    let account: Awaited<ReturnType<typeof this.options.store.getById>>;
    try {
      account =
        id > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : await this.options.store.getById(Number(id));
    } catch {
      throw new HttpError(500, "Database error");
    }
    if (account === undefined) throw new HttpError(404, "Account not found");
    const key = decodeStdBase64(account.publicKey);
    if (key === undefined) throw new HttpError(400, "invalid stored public key: illegal base64 data");
    const signature = parsed.signature;
    if (signature === undefined) throw new HttpError(400, "Invalid signature encoding");
    const failure = verifyRawSignature(key, challenge, signature);
    if (failure !== undefined) throw new HttpError(401, `Signature verification failed: ${failure}`);
    const claim = await this.options.store.claimAuth(
      parsed.header,
      (timestamp + this.options.authValidity + 1) * 1000,
      this.options.now(),
    );
    if (claim === "replay") throw new HttpError(401, "Challenge already used");
    if (claim === "full") throw new HttpError(503, "too many recent authentications, retry later");
    return account.twinId;
  }

  async #events(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#watchers.size >= this.options.maxWatchers) throw new HttpError(503, "too many change streams");
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    res.write(": accounts\n\n");
    this.#watchers.add(res);
    const drop = () => this.#watchers.delete(res);
    req.on("close", drop);
    res.on("close", drop);
  }

  #validateFields(relays: readonly string[], rmbEncKey: string | undefined): void {
    const relayProblem = relaysProblem(relays, this.options.maxRelays);
    if (relayProblem !== undefined) throw new HttpError(400, `invalid relays: ${relayProblem}`);
    const keyProblem = rmbEncKey === undefined ? undefined : rmbEncKeyProblem(rmbEncKey);
    if (keyProblem !== undefined) throw new HttpError(400, `invalid rmb_enc_key: ${keyProblem}`);
  }

  async #body(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.options.maxBodySize) throw new HttpError(413, "request body too large");
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  #cors(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader("access-control-allow-origin", req.headers.origin ?? "*");
    res.setHeader("access-control-allow-credentials", "true");
    res.setHeader("access-control-allow-methods", "POST, OPTIONS, GET, PUT, DELETE, PATCH");
    res.setHeader("access-control-allow-headers", req.headers["access-control-request-headers"] ?? "*");
    res.setHeader("access-control-expose-headers", "*");
    res.setHeader("access-control-max-age", String(12 * 3600));
  }

  #json(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify(body));
  }

  #notFound(res: ServerResponse): void {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("404 page not found");
  }
}
