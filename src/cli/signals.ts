/** Resolves with the name of the first SIGINT or SIGTERM the process receives (long-running commands stop on it). */
export function untilSignal(): Promise<"SIGINT" | "SIGTERM"> {
  return new Promise((resolve) => {
    const onInt = () => done("SIGINT");
    const onTerm = () => done("SIGTERM");
    const done = (signal: "SIGINT" | "SIGTERM") => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(signal);
    };
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
}
