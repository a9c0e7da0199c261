import { pollIntervals } from "../timeouts.ts";

/**
 * The one wait primitive. It polls `probe`, keeps the last value seen, stops
 * early on a dead end, honours an abort signal, and on timeout throws a
 * message with what was awaited, the last state, and the diagnosis.
 */
export interface WaitOptions<T> {
  /** What is awaited, as the end of "timed out waiting for ...". */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Returns a reason when waiting longer cannot help (a claim Lost, a class that does not exist). */
  deadEnd?: (value: T) => string | undefined;
  /** Renders the last value for the failure message. */
  describe?: (value: T) => string;
  /** Collects the state of the world for the failure message (events, statuses, logs). */
  diagnose?: () => Promise<string>;
  signal?: AbortSignal;
}

export class WaitError extends Error {
  readonly diagnosis: string;
  constructor(message: string, diagnosis: string) {
    super(diagnosis ? `${message}\n${diagnosis}` : message);
    this.name = "WaitError";
    this.diagnosis = diagnosis;
  }
}

export async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, options: WaitOptions<T>): Promise<T> {
  const started = performance.now();
  const interval = options.intervalMs ?? pollIntervals.defaultMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await withDeadline(probe(), options.timeoutMs - (performance.now() - started), options.what);
      last = { value };
      if (done(value)) return value;
      const deadEnd = options.deadEnd?.(value);
      if (deadEnd) throw await failure(`gave up waiting for ${options.what}: ${deadEnd}`, last, options);
    } catch (error) {
      if (error instanceof WaitError) throw error;
      last = { error };
    }
    const elapsed = performance.now() - started;
    if (elapsed >= options.timeoutMs) {
      throw await failure(`timed out after ${(options.timeoutMs / 1000).toFixed(0)} s waiting for ${options.what}`, last, options);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, options.timeoutMs - elapsed)));
  }
}

async function failure<T>(headline: string, last: { value: T } | { error: unknown } | undefined, options: WaitOptions<T>) {
  let seen = "nothing (the first probe had not returned)";
  if (last && "value" in last) seen = options.describe ? options.describe(last.value) : JSON.stringify(last.value);
  if (last && "error" in last) seen = `an error: ${String((last.error as Error)?.message ?? last.error).split("\n")[0]}`;
  let diagnosis = "";
  if (options.diagnose) {
    try {
      diagnosis = await options.diagnose();
    } catch (error) {
      diagnosis = `(collecting diagnostics failed: ${(error as Error).message})`;
    }
  }
  return new WaitError(`${headline}; last seen: ${seen}`, diagnosis);
}

/** A probe that never answers must not outlive the wait's deadline. */
async function withDeadline<T>(promise: Promise<T>, remainingMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a probe for ${what} did not answer within ${Math.round(remainingMs)} ms`)), Math.max(remainingMs, 1_000));
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
