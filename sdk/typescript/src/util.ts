import type { TimerApi } from "./types.js";

/** UTF-8 byte length of a string, without allocating. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Calls `unref()` on a Node timer so it does not hold the process open; a no-op elsewhere. */
export function unref<T>(handle: T): T {
  const h = handle as { unref?: () => void } | undefined;
  if (h && typeof h === "object" && typeof h.unref === "function") h.unref();
  return handle;
}

/** The global timers, `unref`'d where the runtime has it (Node), so they never keep a process alive. */
export const unrefTimers: TimerApi = {
  setTimeout: (fn, ms) => unref(globalThis.setTimeout(fn, ms)),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Waits `ms` (unref'd timer); resolves early when `signal` aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      globalThis.clearTimeout(t);
      resolve();
    };
    const t = unref(
      globalThis.setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms)),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date (RFC 9110). Undefined when absent or
 * unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (v === "") return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (/^\d+\.\d+$/.test(v)) return Math.ceil(Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - nowMs);
}

/** Whether this runtime can gzip with the web `CompressionStream` (Node 18+, browsers, edge runtimes). */
export function canGzip(): boolean {
  return typeof (globalThis as { CompressionStream?: unknown }).CompressionStream === "function";
}

/** gzip a string with `CompressionStream`; throws where it is missing. */
export async function gzip(text: string): Promise<Uint8Array> {
  const input = new TextEncoder().encode(text);
  const cs = new CompressionStream("gzip");
  const stream = new Blob([input]).stream().pipeThrough(cs as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The Node `process` object when there is one (guarded: absent in browsers and edge runtimes). */
export interface ProcessLike {
  env?: Record<string, string | undefined>;
  once?: (event: string, fn: (...args: unknown[]) => void) => unknown;
  removeListener?: (event: string, fn: (...args: unknown[]) => void) => unknown;
  versions?: { node?: string };
}

export function getProcess(): ProcessLike | undefined {
  try {
    const p = (globalThis as { process?: ProcessLike }).process;
    return p && typeof p === "object" ? p : undefined;
  } catch {
    return undefined;
  }
}

export function envVar(name: string): string | undefined {
  try {
    const v = getProcess()?.env?.[name];
    return typeof v === "string" && v !== "" ? v : undefined;
  } catch {
    return undefined;
  }
}

export function safeCall<A extends unknown[]>(fn: ((...args: A) => void) | undefined, ...args: A): void {
  if (!fn) return;
  try {
    fn(...args);
  } catch {
    // A callback's error must never reach the agent or stop the sender.
  }
}
