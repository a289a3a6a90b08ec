import { AgentSpendConfigError, AgentSpendError, AgentSpendUnavailableError, SpendRefusedError } from "./errors.js";
import type {
  AgentSpendOptions,
  CheckRequest,
  CheckResult,
  DeliveryFailure,
  RejectedEvent,
  Reservation,
  SpendEvent,
  TimerApi,
} from "./types.js";
import {
  canGzip,
  defaultSleep,
  envVar,
  getProcess,
  gzip,
  parseRetryAfter,
  safeCall,
  unrefTimers,
  utf8Length,
} from "./util.js";
import { uuidv7 } from "./uuid.js";
import { SDK_NAME, VERSION } from "./version.js";
import { Run, type RunOptions } from "./run.js";

/** `{"events":[` + `]}`: the bytes a request body adds around its events. */
const BODY_OVERHEAD = 13;

interface Item {
  json: string;
  bytes: number;
  seq: number;
}

interface Waiter {
  target: number;
  resolve: (ok: boolean) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  keepAlive: ReturnType<typeof setInterval> | undefined;
}

interface Settings {
  maxBatchEvents: number;
  maxBatchBytes: number;
  flushIntervalMs: number;
  maxBufferEvents: number;
  maxBufferBytes: number;
  maxRetryTimeMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  requestTimeoutMs: number;
  checkTimeoutMs: number;
  failOpen: boolean;
  exitFlushTimeoutMs: number;
}

export interface FlushOptions {
  /** Stop waiting after this long and resolve `false`; sending goes on in the background. */
  timeoutMs?: number;
}

export interface CloseOptions {
  /** How long to try to deliver what is buffered. Default: `exitFlushTimeoutMs` (5,000 ms). */
  timeoutMs?: number;
}

function positive(v: number | undefined, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : fallback;
}

/**
 * The AgentSpend client: buffers events and sends them in the background, and asks the service before
 * a call (`check`, `reserve`, `release`).
 */
export class AgentSpend implements AsyncDisposable {
  /** Base URL without a trailing slash. */
  readonly baseUrl: string;
  /** Default `agent_name` of events and checks. */
  readonly agentName: string | undefined;

  readonly #key: string;
  readonly #s: Settings;
  readonly #defaults: Partial<SpendEvent>;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #timers: TimerApi;
  readonly #onRejected: AgentSpendOptions["onRejected"];
  readonly #onError: AgentSpendOptions["onError"];
  readonly #userAgent: string | undefined;
  #gzip: boolean;

  #queue: Item[] = [];
  #queueBytes = 0;
  #seq = 0;
  #settled = 0;
  #dropped = 0;
  #delivered = 0;
  #rejected = 0;
  #failed = 0;
  #timer: unknown = undefined;
  #due = false;
  #pump: Promise<void> | null = null;
  #waiters: Waiter[] = [];
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #abort = new AbortController();
  #exitHook: (() => void) | undefined;
  #exitStarted = false;

  constructor(options: AgentSpendOptions = {}) {
    const baseUrl = options.baseUrl ?? envVar("AGENTSPEND_URL");
    const key = options.apiKey ?? envVar("AGENTSPEND_KEY");
    if (!baseUrl) throw new AgentSpendConfigError("AgentSpend: no base URL (pass baseUrl or set AGENTSPEND_URL)");
    if (!key) throw new AgentSpendConfigError("AgentSpend: no API key (pass apiKey or set AGENTSPEND_KEY)");
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#key = key;
    this.agentName = options.agentName;
    this.#defaults = options.defaults ?? {};
    this.#s = {
      maxBatchEvents: Math.min(1000, positive(options.maxBatchEvents, 1000)),
      maxBatchBytes: Math.min(1_048_576, positive(options.maxBatchBytes, 1_048_576)),
      flushIntervalMs: positive(options.flushIntervalMs, 1000),
      maxBufferEvents: positive(options.maxBufferEvents, 10_000),
      maxBufferBytes: positive(options.maxBufferBytes, 16 * 1_048_576),
      maxRetryTimeMs: positive(options.maxRetryTimeMs, 120_000),
      initialBackoffMs: positive(options.initialBackoffMs, 500),
      maxBackoffMs: positive(options.maxBackoffMs, 30_000),
      requestTimeoutMs: positive(options.requestTimeoutMs, 30_000),
      checkTimeoutMs: positive(options.checkTimeoutMs, 5_000),
      failOpen: options.failOpen ?? true,
      exitFlushTimeoutMs: positive(options.exitFlushTimeoutMs, 5_000),
    };
    const f = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (typeof f !== "function") throw new AgentSpendConfigError("AgentSpend: this runtime has no fetch; pass options.fetch");
    this.#fetch = options.fetch ? f : (f.bind(globalThis) as typeof fetch);
    this.#sleep = options.sleep ?? defaultSleep;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#timers = options.timers ?? unrefTimers;
    this.#onRejected = options.onRejected;
    this.#onError = options.onError;
    this.#gzip = options.gzip ?? true;
    const proc = getProcess();
    // Browsers do not let a page set User-Agent; send it only where there is a Node-style process.
    this.#userAgent = proc?.versions?.node ? `${SDK_NAME}-typescript/${VERSION}` : undefined;

    if ((options.flushOnExit ?? true) && proc && typeof proc.once === "function" && typeof proc.removeListener === "function") {
      const p = proc as { on?: (e: string, fn: () => void) => unknown };
      this.#exitHook = () => this.#onBeforeExit();
      try {
        (p.on ?? proc.once).call(proc, "beforeExit", this.#exitHook);
      } catch {
        this.#exitHook = undefined;
      }
    }
  }

  /** Events dropped because the buffer was full, the client was closed, or the event could not be serialized. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Events recorded and not yet settled (buffered or being sent). */
  get pending(): number {
    return this.#seq - this.#settled;
  }

  /** Counters since the client was made. */
  get stats(): { recorded: number; delivered: number; rejected: number; failed: number; dropped: number; pending: number } {
    return {
      recorded: this.#seq,
      delivered: this.#delivered,
      rejected: this.#rejected,
      failed: this.#failed,
      dropped: this.#dropped,
      pending: this.pending,
    };
  }

  /**
   * Buffers one event and returns at once; never throws. The client fills in `agent_name` (from
   * `agentName`), `timestamp` (now) and `idempotency_key` (UUID v7) when absent, and the `defaults`.
   * Returns false when the event was dropped (buffer full, client closed, unserializable) or refused
   * before sending (larger than a request may be; reported through `onRejected`).
   */
  record(event: SpendEvent): boolean {
    try {
      if (this.#closed) {
        this.#dropped++;
        return false;
      }
      const e = this.#prepare(event);
      const json = JSON.stringify(e);
      const bytes = utf8Length(json);
      if (bytes + BODY_OVERHEAD > this.#s.maxBatchBytes) {
        this.#rejected++;
        safeCall(this.#onRejected, [{ event: e, index: 0, reason: `too_large: ${bytes} bytes of JSON, more than a request may carry` }], {
          status: 0,
          accepted: 0,
        });
        return false;
      }
      if (this.#queue.length >= this.#s.maxBufferEvents || this.#queueBytes + bytes > this.#s.maxBufferBytes) {
        this.#dropped++;
        return false;
      }
      this.#queue.push({ json, bytes, seq: ++this.#seq });
      this.#queueBytes += bytes;
      if (this.#isFull()) this.#kick();
      else this.#armTimer();
      return true;
    } catch {
      this.#dropped++;
      return false;
    }
  }

  /**
   * Sends everything recorded so far. Resolves `true` once each of those events is settled (delivered,
   * or reported through `onRejected` / `onError`), `false` when `timeoutMs` passes first (sending goes on).
   */
  flush(options: FlushOptions = {}): Promise<boolean> {
    const target = this.#seq;
    if (this.#settled >= target) return Promise.resolve(true);
    this.#due = true;
    this.#kick();
    return new Promise<boolean>((resolve) => {
      const w: Waiter = { target, resolve, timer: undefined, keepAlive: undefined };
      const t = options.timeoutMs;
      // These timers are deliberately not unref'd: an awaited flush keeps Node alive until it settles.
      if (t !== undefined && Number.isFinite(t)) {
        w.timer = setTimeout(() => this.#finishWaiter(w, false), Math.max(0, t));
      } else {
        w.keepAlive = setInterval(() => {}, 1 << 30);
      }
      this.#waiters.push(w);
    });
  }

  /**
   * Stops taking events, delivers what is buffered (for at most `timeoutMs`), then abandons the rest
   * (reported through `onError` as `closed`). Safe to call more than once.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#removeExitHook();
    if (this.#timer !== undefined) {
      this.#timers.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#closing = (async () => {
      const ok = await this.flush({ timeoutMs: options.timeoutMs ?? this.#s.exitFlushTimeoutMs });
      if (!ok) {
        this.#abort.abort();
        this.#kick();
        await this.#pump?.catch(() => {});
        this.#abandonQueue();
      }
    })();
    return this.#closing;
  }

  /** `await using client = new AgentSpend(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Starts a run: events recorded with `run.record()` carry its `run_id`; `run.end()` records its summary. */
  startRun(name: string, options: RunOptions = {}): Run {
    return new Run(this, name, options, this.#now, uuidv7(this.#now()));
  }

  /**
   * Runs `fn` as one run: its outcome (`task_success`) is true when `fn` resolves and false when it
   * throws (unless `run.succeed()` / `run.fail()` said otherwise), and its summary event is recorded
   * when it ends. Returns (or throws) what `fn` does.
   */
  async run<T>(name: string, fn: (run: Run) => T | Promise<T>, options: RunOptions = {}): Promise<T> {
    const run = this.startRun(name, options);
    try {
      const value = await fn(run);
      run.end({ success: run.outcome ?? true });
      return value;
    } catch (err) {
      run.end({ success: run.outcome ?? false });
      throw err;
    }
  }

  /**
   * Pre-flight check (`POST /api/v1/check`). Resolves when allowed; throws `SpendRefusedError` on a
   * refusal (429 `allowed:false`). When the service cannot be reached, `failOpen` decides: allowed with
   * `failedOpen: true` (the default) or `AgentSpendUnavailableError`. Other errors (401, 400 …) throw
   * `AgentSpendError`.
   */
  async check(request: CheckRequest = {}): Promise<CheckResult> {
    const body: Record<string, unknown> = {};
    if (this.agentName !== undefined) body.agent_name = this.agentName;
    Object.assign(body, request);
    return this.#check(body);
  }

  /**
   * A check that holds its estimate against each `block` budget that applies (`"reserve": true`).
   * Release it with `release(result)` if the call does not happen; the aggregator releases it once the
   * usage with the same `run_id` or `idempotency_key` is counted, and it expires after
   * `reservation_ttl_seconds` (default 600).
   */
  async reserve(request: CheckRequest = {}): Promise<CheckResult> {
    const body: Record<string, unknown> = {};
    if (this.agentName !== undefined) body.agent_name = this.agentName;
    Object.assign(body, request, { reserve: true });
    return this.#check(body);
  }

  /**
   * Releases a reservation (`DELETE /api/v1/check/reservations/{id}`): true when released, false when it
   * was not open (404) or there is none (a fail-open result). Unreachable service: false when
   * `failOpen`, else `AgentSpendUnavailableError`.
   */
  async release(reservation: string | Reservation | CheckResult | undefined | null): Promise<boolean> {
    const id =
      typeof reservation === "string"
        ? reservation
        : reservation && "allowed" in reservation
          ? reservation.reservation?.id
          : reservation?.id;
    if (!id) return false;
    const res = await this.#control("DELETE", `/api/v1/check/reservations/${encodeURIComponent(id)}`, undefined);
    if ("error" in res) return this.#unavailable(res.error, res.status, false);
    if (res.status === 204 || res.status === 200) return true;
    if (res.status === 404) return false;
    if (res.status >= 500) return this.#unavailable(undefined, res.status, false);
    throw new AgentSpendError(`AgentSpend: release answered ${res.status}${reasonOf(res.body)}`, res.status);
  }

  // ---- internals -------------------------------------------------------------------------------

  #prepare(event: SpendEvent): Record<string, unknown> {
    const e: Record<string, unknown> = {};
    if (this.agentName !== undefined) e.agent_name = this.agentName;
    Object.assign(e, this.#defaults, event);
    const dt = this.#defaults.tags;
    if (dt && event.tags) e.tags = { ...dt, ...event.tags };
    const ts = e.timestamp;
    if (ts instanceof Date) e.timestamp = ts.toISOString();
    else if (ts === undefined || ts === null || ts === "") e.timestamp = new Date(this.#now()).toISOString();
    if (e.idempotency_key === undefined || e.idempotency_key === null || e.idempotency_key === "")
      e.idempotency_key = uuidv7(this.#now());
    return e;
  }

  #bodyBytes(n: number, bytes: number): number {
    return BODY_OVERHEAD + bytes + Math.max(0, n - 1);
  }

  #isFull(): boolean {
    const n = this.#queue.length;
    return n >= this.#s.maxBatchEvents || this.#bodyBytes(n, this.#queueBytes) >= this.#s.maxBatchBytes;
  }

  #armTimer(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      if (this.#queue.length === 0) return;
      this.#due = true;
      this.#kick();
    }, this.#s.flushIntervalMs);
  }

  #kick(): void {
    if (this.#pump) return;
    this.#pump = Promise.resolve()
      .then(() => this.#run())
      .catch(() => {})
      .finally(() => {
        this.#pump = null;
        if (this.#queue.length === 0) return;
        if (this.#abort.signal.aborted) this.#abandonQueue();
        else if (this.#due || this.#isFull()) this.#kick();
        else this.#armTimer();
      });
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#queue.length === 0) {
        this.#due = false;
        return;
      }
      if (this.#abort.signal.aborted) {
        this.#abandonQueue();
        return;
      }
      if (!this.#due && !this.#isFull()) return;
      const batch = this.#take();
      if (this.#queue.length === 0) this.#due = false;
      try {
        await this.#send(batch);
      } catch {
        // #send reports its own failures; nothing may escape into the agent.
      }
      this.#settle(batch[batch.length - 1]!.seq);
    }
  }

  #take(): Item[] {
    let n = 0;
    let bytes = 0;
    const q = this.#queue;
    while (n < q.length && n < this.#s.maxBatchEvents) {
      const next = this.#bodyBytes(n + 1, bytes + q[n]!.bytes);
      if (n > 0 && next > this.#s.maxBatchBytes) break;
      bytes += q[n]!.bytes;
      n++;
    }
    const batch = q.splice(0, n);
    this.#queueBytes -= bytes;
    return batch;
  }

  #settle(seq: number): void {
    if (seq > this.#settled) this.#settled = seq;
    for (const w of [...this.#waiters]) if (w.target <= this.#settled) this.#finishWaiter(w, true);
  }

  #finishWaiter(w: Waiter, ok: boolean): void {
    const i = this.#waiters.indexOf(w);
    if (i < 0) return;
    this.#waiters.splice(i, 1);
    if (w.timer !== undefined) clearTimeout(w.timer);
    if (w.keepAlive !== undefined) clearInterval(w.keepAlive);
    w.resolve(ok);
  }

  #abandonQueue(): void {
    if (this.#queue.length === 0) return;
    const items = this.#queue.splice(0);
    this.#queueBytes = 0;
    this.#fail("closed", items, 0, undefined, "client closed before the events were delivered");
    this.#settle(items[items.length - 1]!.seq);
  }

  #fail(kind: DeliveryFailure["kind"], items: Item[], attempts: number, status?: number, message?: string): void {
    this.#failed += items.length;
    if (!this.#onError) return;
    const failure: DeliveryFailure = { kind, events: items.map((i) => JSON.parse(i.json)), attempts };
    if (status !== undefined) failure.status = status;
    if (message !== undefined) failure.message = message;
    safeCall(this.#onError, failure);
  }

  #headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = { authorization: `Bearer ${this.#key}`, accept: "application/json" };
    if (json) h["content-type"] = "application/json";
    if (this.#userAgent) h["user-agent"] = this.#userAgent;
    return h;
  }

  async #fetchWithTimeout(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    const ctrl = new AbortController();
    const parent = this.#abort.signal;
    const onAbort = () => ctrl.abort();
    if (parent.aborted) ctrl.abort();
    else parent.addEventListener("abort", onAbort, { once: true });
    const t = this.#timers.setTimeout(() => ctrl.abort(), timeoutMs);
    try {
      return await this.#fetch(url, { ...init, signal: ctrl.signal });
    } finally {
      this.#timers.clearTimeout(t);
      parent.removeEventListener("abort", onAbort);
    }
  }

  #backoff(retry: number): number {
    const cap = Math.min(this.#s.maxBackoffMs, this.#s.initialBackoffMs * 2 ** Math.min(retry - 1, 30));
    return Math.floor(this.#random() * cap);
  }

  async #send(items: Item[]): Promise<void> {
    const text = `{"events":[${items.map((i) => i.json).join(",")}]}`;
    let payload: string | Uint8Array = text;
    let gzipped = false;
    if (this.#gzip && canGzip()) {
      try {
        payload = await gzip(text);
        gzipped = true;
      } catch {
        payload = text;
      }
    }
    const url = `${this.baseUrl}/api/v1/ingest`;
    const start = this.#now();
    let attempts = 0;
    let retries = 0;
    let lastStatus: number | undefined;
    let lastMessage: string | undefined;
    for (;;) {
      if (this.#abort.signal.aborted) return this.#fail("closed", items, attempts, lastStatus, lastMessage ?? "client closed");
      attempts++;
      const headers = this.#headers(true);
      if (gzipped) headers["content-encoding"] = "gzip";
      let res: Response | undefined;
      try {
        res = await this.#fetchWithTimeout(url, { method: "POST", headers, body: payload as BodyInit }, this.#s.requestTimeoutMs);
      } catch (err) {
        lastStatus = undefined;
        lastMessage = errorMessage(err);
      }
      let delay: number;
      if (res) {
        lastStatus = res.status;
        const bodyText = await res.text().catch(() => "");
        const body = parseJson(bodyText);
        lastMessage = reasonText(body) ?? `HTTP ${res.status}`;
        if (res.ok) {
          this.#accepted(items, body, res.status);
          return;
        }
        if (gzipped && (res.status === 415 || (res.status === 400 && !hasIndexedErrors(body)))) {
          // A server that does not take gzip yet: send this batch (and every later one) uncompressed.
          this.#gzip = false;
          gzipped = false;
          payload = text;
          continue;
        }
        if (res.status === 400) {
          this.#refusedBatch(items, body);
          return;
        }
        const retryable = res.status === 429 || res.status === 408 || res.status >= 500;
        if (!retryable) return this.#fail("http_error", items, attempts, res.status, lastMessage);
        retries++;
        const ra =
          res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get("retry-after"), this.#now()) : undefined;
        delay = ra ?? this.#backoff(retries);
      } else {
        if (this.#abort.signal.aborted) return this.#fail("closed", items, attempts, lastStatus, lastMessage);
        retries++;
        delay = this.#backoff(retries);
      }
      if (this.#now() - start + delay > this.#s.maxRetryTimeMs)
        return this.#fail("gave_up", items, attempts, lastStatus, lastMessage);
      await this.#sleep(delay, this.#abort.signal);
    }
  }

  #accepted(items: Item[], body: unknown, status: number): void {
    const b = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
    const errors = Array.isArray(b.errors) ? (b.errors as Record<string, unknown>[]) : [];
    const rejected: RejectedEvent[] = [];
    const seen = new Set<number>();
    for (const err of errors) {
      const index = typeof err?.index === "number" ? err.index : -1;
      if (index < 0 || index >= items.length) continue;
      seen.add(index);
      rejected.push(rejection(items, index, err));
    }
    this.#rejected += seen.size;
    this.#delivered += items.length - seen.size;
    if (rejected.length > 0) {
      safeCall(this.#onRejected, rejected, {
        status,
        accepted: typeof b.accepted === "number" ? b.accepted : items.length - seen.size,
        ...(Array.isArray(b.rejected_agents) ? { rejectedAgents: b.rejected_agents as string[] } : {}),
      });
    }
  }

  #refusedBatch(items: Item[], body: unknown): void {
    const b = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
    const errors = Array.isArray(b.errors) ? (b.errors as Record<string, unknown>[]) : [];
    const byIndex = new Map<number, Record<string, unknown>[]>();
    for (const err of errors) {
      if (typeof err?.index === "number") {
        const list = byIndex.get(err.index) ?? [];
        list.push(err);
        byIndex.set(err.index, list);
      }
    }
    const general = reasonText(b) ?? "batch refused (400)";
    const rejected: RejectedEvent[] = [];
    for (let i = 0; i < items.length; i++) {
      const errs = byIndex.get(i);
      if (errs) for (const err of errs) rejected.push(rejection(items, i, err));
      else rejected.push({ event: JSON.parse(items[i]!.json), index: i, reason: general });
    }
    this.#rejected += items.length;
    safeCall(this.#onRejected, rejected, {
      status: 400,
      accepted: 0,
      ...(Array.isArray(b.rejected_agents) ? { rejectedAgents: b.rejected_agents as string[] } : {}),
    });
  }

  #onBeforeExit(): void {
    if (this.#exitStarted || this.#settled >= this.#seq) return;
    this.#exitStarted = true;
    void this.flush({ timeoutMs: this.#s.exitFlushTimeoutMs }).then((ok) => {
      if (!ok) {
        this.#closed = true;
        this.#abort.abort();
        this.#kick();
      }
    });
  }

  #removeExitHook(): void {
    if (!this.#exitHook) return;
    try {
      getProcess()?.removeListener?.("beforeExit", this.#exitHook);
    } catch {
      // ignore
    }
    this.#exitHook = undefined;
  }

  async #control(
    method: string,
    path: string,
    body: unknown,
  ): Promise<{ status: number; body: unknown; headers: Headers } | { error: unknown; status?: number }> {
    try {
      const init: RequestInit = { method, headers: this.#headers(body !== undefined) };
      if (body !== undefined) init.body = JSON.stringify(body);
      const res = await this.#fetchWithTimeout(`${this.baseUrl}${path}`, init, this.#s.checkTimeoutMs);
      const text = await res.text().catch(() => "");
      return { status: res.status, body: parseJson(text), headers: res.headers };
    } catch (error) {
      return { error };
    }
  }

  #unavailable<T>(error: unknown, status: number | undefined, openValue: T): T {
    if (this.#s.failOpen) return openValue;
    const msg = error !== undefined ? errorMessage(error) : `HTTP ${status}`;
    throw new AgentSpendUnavailableError(`AgentSpend unreachable: ${msg}`, status, { cause: error });
  }

  async #check(body: Record<string, unknown>): Promise<CheckResult> {
    const open: CheckResult = { allowed: true, remaining: {}, failedOpen: true, raw: {} };
    const res = await this.#control("POST", "/api/v1/check", body);
    if ("error" in res) return this.#unavailable(res.error, undefined, open);
    const b = (res.body && typeof res.body === "object" ? res.body : {}) as Record<string, unknown>;
    if (res.status === 200 && b.allowed !== false) {
      const result: CheckResult = {
        allowed: true,
        remaining: (b.remaining && typeof b.remaining === "object" ? b.remaining : {}) as Record<string, number>,
        failedOpen: false,
        raw: b,
      };
      const r = b.reservation as Record<string, unknown> | undefined;
      if (r && typeof r.id === "string") {
        const reservation: Reservation = { id: r.id, budgetIds: Array.isArray(r.budget_ids) ? (r.budget_ids as string[]) : [] };
        if (typeof r.expires_at === "string") reservation.expiresAt = new Date(r.expires_at);
        result.reservation = reservation;
      }
      return result;
    }
    if (b.allowed === false) {
      throw new SpendRefusedError(b, parseRetryAfter(res.headers.get("retry-after"), this.#now()));
    }
    if (res.status >= 500 || res.status === 429) return this.#unavailable(undefined, res.status, open);
    throw new AgentSpendError(`AgentSpend: check answered ${res.status}${reasonOf(b)}`, res.status);
  }
}

function rejection(items: Item[], index: number, err: Record<string, unknown>): RejectedEvent {
  const r: RejectedEvent = { event: JSON.parse(items[index]!.json), index, reason: String(err.reason ?? "rejected") };
  if (typeof err.field === "string") r.field = err.field;
  return r;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function hasIndexedErrors(body: unknown): boolean {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) && errors.some((e) => typeof (e as { index?: unknown })?.index === "number");
}

function reasonText(body: unknown): string | undefined {
  if (!body || typeof body !== "object") return undefined;
  const b = body as Record<string, unknown>;
  for (const k of ["reason", "detail", "title"]) if (typeof b[k] === "string" && b[k]) return b[k] as string;
  return undefined;
}

function reasonOf(body: unknown): string {
  const r = reasonText(body);
  return r ? `: ${r}` : "";
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.name === "AbortError" ? "request aborted or timed out" : err.message;
  return String(err);
}
