import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { createSigner, KeyType, type Signer } from "../../src/identity/index.js";
import {
  type AccountStore,
  encodeStdBase64,
  FileAccountStore,
  type RegistrarOptions,
  RegistrarService,
} from "../../src/registry/index.js";
import { creationChallenge, signRaw } from "../../src/registry/registrar/proofs.js";

/** A settable clock in ms. */
export class TestClock {
  ms: number;
  constructor(seconds = 1_700_000_000) {
    this.ms = seconds * 1000;
  }
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
  now = (): number => this.ms;
}

export interface RegistrarFixture {
  service: RegistrarService;
  store: AccountStore;
  url: string;
  clock: TestClock;
  dir: string;
  /** `fetch` against the service, JSON in and out. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpAnswer>;
}

export interface HttpAnswer {
  status: number;
  text: string;
  json: Record<string, unknown>;
  headers: Headers;
}

/** Starts a registry service on 127.0.0.1 over a file store in a temp dir; everything is stopped after the test. */
export async function startRegistrar(
  t: TestContext,
  options: Partial<Omit<RegistrarOptions, "store">> & { store?: AccountStore } = {},
): Promise<RegistrarFixture> {
  const dir = mkdtempSync(join(tmpdir(), "rmb-registrar-"));
  const store = options.store ?? (await FileAccountStore.open(dir, { fsync: false }));
  const clock = new TestClock();
  const service = new RegistrarService({ now: clock.now, ...options, store });
  await service.start();
  t.after(async () => {
    await service.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = service.url;
  return {
    service,
    store,
    url,
    clock,
    dir,
    call: (method, path, body, headers = {}) => httpCall(url, method, path, body, headers),
  };
}

export async function httpCall(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // plain text
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** A creation request body for `signer` at `timestamp` (seconds). */
export function creationBody(signer: Signer, timestamp: number, extra: Record<string, unknown> = {}) {
  const publicKey = encodeStdBase64(signer.publicKey);
  return {
    timestamp,
    public_key: publicKey,
    signature: encodeStdBase64(signRaw(signer, creationChallenge(timestamp, publicKey))),
    ...extra,
  };
}

export const signerFor = (uri: string, type: KeyType = KeyType.Ed25519): Signer => createSigner(uri, type);
