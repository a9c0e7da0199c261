/**
 * Ctrl-C and SIGTERM during a run: `cleanup` runs to the end (bounded by
 * `deadlineMs`) before the process exits. vitest's own handlers call
 * process.exit at once, which would leave the check in flight's namespace
 * on the cluster: exits are held until the cleanup is done. A second signal
 * exits at once.
 */
export function onInterrupt(cleanup: (signal: NodeJS.Signals) => Promise<void>, deadlineMs: number): void {
  const realExit = process.exit.bind(process);
  let cleaning: Promise<unknown> | undefined;
  const handler = (signal: NodeJS.Signals) => {
    const code = signal === "SIGINT" ? 130 : 143;
    if (cleaning) realExit(code);
    let timer: NodeJS.Timeout | undefined;
    cleaning = Promise.race([
      cleanup(signal).catch((error: unknown) => process.stderr.write(`${(error as Error).message ?? error}\n`)),
      new Promise((resolve) => {
        timer = setTimeout(() => {
          process.stderr.write(`cleanup did not finish within ${Math.round(deadlineMs / 1000)} s\n`);
          resolve(undefined);
        }, deadlineMs);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      realExit(code);
    });
    process.exit = ((_code?: number) => undefined) as typeof process.exit;
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
