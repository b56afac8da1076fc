import type { Signer } from "../../identity/signer.js";
import {
  RegistryRejectedError,
  RegistryUnavailableError,
  TwinExistsError,
  TwinNotFoundError,
} from "../errors.js";
import type { Twin } from "../twin.js";
import type { TwinChangeListener, TwinFields, WritableTwinRegistry } from "../twin-registry.js";
import { type Account, accountFromJson, accountToTwin, rmbEncKeyText } from "./account.js";
import { encodeStdBase64 } from "./base64.js";
import { buildAuthHeader, creationChallenge, signRaw } from "./proofs.js";

/** Options of {@link RegistrarClient}. */
export interface RegistrarClientOptions {
  /**
   * The registrar: `https://registrar.dev4.grid.tf`, with or without `/v1` or `/api/v1` (added when missing), or our
   * `rmb registry` service.
   */
  url: string;
  /** Milliseconds before a request is abandoned. @default 10000 */
  timeout?: number;
  /** First pause before re-opening a dropped change stream, in ms (doubles up to 30 s). @default 1000 */
  watchRetryDelay?: number;
  /** Milliseconds clock (creation timestamps, X-Auth). @default Date.now */
  now?: () => number;
}

/** Account fields for {@link RegistrarClient.createAccount} / {@link RegistrarClient.updateAccount}. */
export interface AccountFields {
  relays?: string[] | undefined;
  rmbEncKey?: string | undefined;
}

/**
 * A client of the registrar accounts API (TFGrid v4 node-registrar, or `rmb registry`), and a
 * {@link WritableTwinRegistry} on top of it: twins are accounts, their relays the hosts of the account's `relays`,
 * their e2e key the `rmb_enc_key`. `watch` follows our service's change stream; against an upstream registrar
 * (which has none) it reports nothing and a cache relies on its TTL.
 */
export class RegistrarClient implements WritableTwinRegistry {
  /** Base URL ending in `/v1` or `/api/v1`. */
  readonly baseUrl: string;
  readonly #timeout: number;
  readonly #retryDelay: number;
  readonly #now: () => number;
  readonly #listeners = new Set<TwinChangeListener>();
  #stream: AbortController | undefined;

  constructor(options: RegistrarClientOptions) {
    this.baseUrl = registrarBaseUrl(options.url);
    this.#timeout = options.timeout ?? 10_000;
    this.#retryDelay = options.watchRetryDelay ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The account with this twin id, or `undefined` (404). */
  async getAccount(twinId: number): Promise<Account | undefined> {
    return this.#lookup(`twin_id=${twinId}`);
  }

  /** The account of a 32-byte public key, or `undefined` (404). */
  async getAccountByPublicKey(publicKey: Uint8Array): Promise<Account | undefined> {
    return this.#lookup(`public_key=${encodeURIComponent(encodeStdBase64(publicKey))}`);
  }

  /**
   * Registers `signer`'s key. A `409` (or upstream's `500` for a duplicate, confirmed by a lookup) throws
   * `TwinExistsError`; a clock too far from the server's is corrected once from its `server_time`.
   */
  async createAccount(signer: Signer, fields: AccountFields = {}): Promise<Account> {
    const publicKey = encodeStdBase64(signer.publicKey);
    let timestamp = Math.floor(this.#now() / 1000);
    for (let attempt = 0; ; attempt += 1) {
      const body = {
        public_key: publicKey,
        signature: encodeStdBase64(signRaw(signer, creationChallenge(timestamp, publicKey))),
        timestamp,
        relays: fields.relays ?? [],
        rmb_enc_key: fields.rmbEncKey ?? "",
      };
      const { status, data } = await this.#request("POST", "/accounts", body);
      if (status === 201) return this.#account(data);
      const error = errorText(data);
      if (status === 400 && attempt === 0 && typeof serverTime(data) === "number") {
        timestamp = serverTime(data) as number;
        continue;
      }
      if (status === 409) throw new TwinExistsError(undefined, error);
      if (status === 500) {
        const existing = await this.getAccountByPublicKey(signer.publicKey);
        if (existing !== undefined)
          throw new TwinExistsError(existing.twinId, "account with this public key already exists");
      }
      throw statusError(status, `create account: ${error}`);
    }
  }

  /**
   * Updates `twinId` (which `signer` must own). Only the given fields are sent; note that an upstream registrar
   * wipes the ones left out, ours keeps them.
   */
  async updateAccount(signer: Signer, twinId: number, fields: AccountFields): Promise<void> {
    const body: Record<string, unknown> = {};
    if (fields.relays !== undefined) body.relays = fields.relays;
    if (fields.rmbEncKey !== undefined) body.rmb_enc_key = fields.rmbEncKey;
    for (let attempt = 0; ; attempt += 1) {
      const header = buildAuthHeader(signer, twinId, Math.floor(this.#now() / 1000));
      const { status, data } = await this.#request("PATCH", `/accounts/${twinId}`, body, {
        "x-auth": header,
      });
      if (status === 200) return;
      const error = errorText(data);
      // ed25519 signatures are deterministic: a second update in the same second repeats the header, which our
      // service refuses as a replay. Wait for the next second once.
      if (status === 401 && error === "Challenge already used" && attempt === 0) {
        await new Promise((resolve) => setTimeout(resolve, 1000 - (this.#now() % 1000) + 5));
        continue;
      }
      if (status === 404) throw new TwinNotFoundError(twinId, `update account: ${error}`);
      throw statusError(status, `update account: ${error}`);
    }
  }

  async getTwin(id: number): Promise<Twin | undefined> {
    const account = await this.getAccount(id);
    return account === undefined ? undefined : this.#twin(account);
  }

  async getTwinIdByAccount(accountId: Uint8Array): Promise<number | undefined> {
    return (await this.getAccountByPublicKey(accountId))?.twinId;
  }

  async createTwin(signer: Signer, fields: TwinFields): Promise<Twin> {
    const account = await this.createAccount(signer, {
      relays: fields.relays,
      rmbEncKey: rmbEncKeyText(fields.pk),
    });
    return this.#twin(account);
  }

  /** Sends both fields, so it has tfchain's `updateTwin` meaning on upstream registrars too. */
  async updateTwin(signer: Signer, fields: TwinFields): Promise<Twin> {
    const own = await this.getAccountByPublicKey(signer.publicKey);
    if (own === undefined) throw new TwinNotFoundError(undefined, "the account has no twin");
    await this.updateAccount(signer, own.twinId, {
      relays: fields.relays,
      rmbEncKey: rmbEncKeyText(fields.pk),
    });
    const twin = await this.getTwin(own.twinId);
    if (twin === undefined) throw new TwinNotFoundError(own.twinId);
    return twin;
  }

  /**
   * Follows `GET {base}/accounts/events` (our service's change stream): every created or updated account is
   * reported; after the stream drops and is re-opened a `reset` tells caches they may have missed changes. Against
   * a registrar without the stream (404) nothing is reported.
   */
  watch(listener: TwinChangeListener): () => void {
    this.#listeners.add(listener);
    if (this.#stream === undefined) {
      this.#stream = new AbortController();
      void this.#follow(this.#stream.signal);
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.close();
    };
  }

  /** Stops the change stream. */
  close(): void {
    this.#stream?.abort();
    this.#stream = undefined;
  }

  async #follow(signal: AbortSignal): Promise<void> {
    let delay = this.#retryDelay;
    let opened = false;
    while (!signal.aborted) {
      try {
        const res = await fetch(`${this.baseUrl}/accounts/events`, { signal });
        if (res.status === 404 || res.status === 405) return; // no change stream on this registrar
        if (res.status !== 200 || res.body === null) throw new Error(`status ${res.status}`);
        if (opened) this.#emit({ kind: "reset" });
        opened = true;
        delay = this.#retryDelay;
        await this.#readEvents(res.body, signal);
      } catch {
        if (signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  }

  async #readEvents(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      if (signal.aborted) return;
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trimStart())
          .join("\n");
        if (data !== "") {
          try {
            const account = accountFromJson(JSON.parse(data));
            const twin = account === undefined ? undefined : accountToTwin(account);
            if (twin !== undefined) this.#emit({ kind: "twin", twin });
          } catch {
            // a malformed event is skipped; the cache's TTL still bounds staleness
          }
        }
        end = buffer.indexOf("\n\n");
      }
    }
  }

  #emit(change: Parameters<TwinChangeListener>[0]): void {
    for (const listener of this.#listeners) listener(change);
  }

  async #lookup(query: string): Promise<Account | undefined> {
    const { status, data } = await this.#request("GET", `/accounts?${query}`);
    if (status === 404) return undefined;
    if (status !== 200) throw statusError(status, `get account: ${errorText(data)}`);
    return this.#account(data);
  }

  #account(data: unknown): Account {
    const account = accountFromJson(data);
    if (account === undefined)
      throw new RegistryUnavailableError("the registrar sent an account that does not parse");
    return account;
  }

  #twin(account: Account): Twin {
    const twin = accountToTwin(account);
    if (twin === undefined)
      throw new RegistryUnavailableError(
        `account ${account.twinId} cannot be a twin (public key or id out of range)`,
      );
    return twin;
  }

  async #request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; data: unknown }> {
    let res: Response | undefined;
    // A kept-alive connection the server has just closed fails the request at once; a GET is safe to repeat.
    for (let attempt = 0; res === undefined; attempt += 1) {
      try {
        res = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(this.#timeout),
        });
      } catch (cause) {
        const timedOut = cause instanceof Error && cause.name === "TimeoutError";
        if (method !== "GET" || attempt > 0 || timedOut)
          throw new RegistryUnavailableError(`registrar ${this.baseUrl} unreachable: ${messageOf(cause)}`, {
            cause,
          });
      }
    }
    const text = await res.text().catch(() => "");
    let data: unknown = text;
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON (e.g. a proxy's error page): keep the text
    }
    return { status: res.status, data };
  }
}

/** `url` with `/v1` appended unless it already ends in `/v1` or `/api/v1`; no trailing slash. */
export function registrarBaseUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, "");
  return /\/(api\/)?v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
}

function errorText(data: unknown): string {
  if (typeof data === "object" && data !== null && typeof (data as { error?: unknown }).error === "string")
    return (data as { error: string }).error;
  return typeof data === "string" ? data.slice(0, 200) : JSON.stringify(data).slice(0, 200);
}

function serverTime(data: unknown): number | undefined {
  const value =
    typeof data === "object" && data !== null ? (data as { server_time?: unknown }).server_time : undefined;
  return typeof value === "number" ? value : undefined;
}

function statusError(status: number, message: string): Error {
  const full = `${message} (HTTP ${status})`;
  return status >= 400 && status < 500 && status !== 404 && status !== 408 && status !== 429
    ? new RegistryRejectedError(full, { status })
    : new RegistryUnavailableError(full, { status });
}

function messageOf(err: unknown): string {
  if (err instanceof Error)
    return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
  return String(err);
}
