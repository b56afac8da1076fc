import { RmbError } from "../errors.js";
import {
  loadTwinsFile,
  type MemoryRegistry,
  RegistrarClient,
  TfchainRegistry,
  type TwinRegistry,
} from "../registry/index.js";
import { UsageError } from "./cli-error.js";

/** A twin registry opened from command-line flags. */
export interface OpenedRegistry {
  registry: TwinRegistry;
  /** What it is, for the start-up line (`tfchain: wss://…`). */
  note: string;
  /** Set when the registry is a twins file (SIGHUP reloads it). */
  twinsFile?: { path: string; registry: MemoryRegistry };
  close(): Promise<void>;
}

/** The registry flags shared by `rmb relay` and `rmb peer`; exactly one is given. */
export interface RegistryFlags {
  substrate?: string[] | undefined;
  registrar?: string | undefined;
  twins?: string | undefined;
  /** tfchain: most blocks of twin events replayed after missing some (`--catchup-threshold`). */
  catchupThreshold?: number | undefined;
}

/** Opens the registry named by exactly one of the flags (the caller checks that one is given). */
export async function openRegistry(flags: RegistryFlags): Promise<OpenedRegistry> {
  if (flags.substrate !== undefined) {
    const chain = new TfchainRegistry({
      urls: flags.substrate,
      ...(flags.catchupThreshold === undefined ? {} : { catchupThreshold: flags.catchupThreshold }),
    });
    await chain.start();
    return { registry: chain, note: `tfchain: ${flags.substrate.join(", ")}`, close: () => chain.close() };
  }
  if (flags.registrar !== undefined) {
    const client = new RegistrarClient({ url: flags.registrar });
    return {
      registry: client,
      note: `registrar: ${client.baseUrl}`,
      close: async () => client.close(),
    };
  }
  const path = flags.twins;
  if (path === undefined) throw new UsageError("no twin registry given");
  let twins: MemoryRegistry;
  try {
    twins = await loadTwinsFile(path);
  } catch (err) {
    if (err instanceof RmbError) throw err;
    throw new UsageError(`cannot read --twins ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    registry: twins,
    note: `twins: ${path}`,
    twinsFile: { path, registry: twins },
    close: async () => {},
  };
}

/** Reloads a twins file in place (on SIGHUP), logging the outcome. */
export function reloadTwinsFile(
  opened: OpenedRegistry,
  log: { info(m: string): void; error(m: string): void },
): void {
  const file = opened.twinsFile;
  if (file === undefined) return;
  loadTwinsFile(file.path, file.registry).then(
    (r) => log.info(`reloaded ${r.size} twins from ${file.path}`),
    (err: unknown) =>
      log.error(`reload of ${file.path} failed: ${err instanceof Error ? err.message : String(err)}`),
  );
}
