/**
 * One usage event as `POST /api/v1/ingest` takes it (docs/ingest.md, "Events").
 * Field names are the wire names (snake_case), so what you pass is what is sent.
 *
 * Token kinds follow the server's rule (docs/pricing.md): `input_tokens` excludes cache reads and
 * writes; `reasoning_tokens` are part of `output_tokens`; `cache_write_1h_tokens` is the 1-hour share
 * of `cache_write_tokens`.
 */
export interface SpendEvent {
  /** Required by the server; defaults to the client's `agentName`. */
  agent_name?: string;
  /** Required by the server (e.g. `openai`, `anthropic`). */
  provider?: string;
  /** Required by the server. */
  model?: string;
  /** ISO 8601 with an offset (or a Date). Defaults to the time `record()` was called. */
  timestamp?: string | Date;
  input_tokens?: number;
  output_tokens?: number;
  cache_read_tokens?: number;
  cache_write_tokens?: number;
  cache_write_1h_tokens?: number;
  reasoning_tokens?: number;
  cost_usd?: number;
  duration_ms?: number;
  run_id?: string;
  session_id?: string;
  user_id?: string;
  team?: string;
  framework?: string;
  task_type?: string;
  task_success?: boolean;
  /** Set by the client (UUID v7) when absent; a retry resends the same key. */
  idempotency_key?: string;
  /** At most 32 string pairs. */
  tags?: Record<string, string>;
  /** Unknown fields are sent as given; the server ignores those it does not know. */
  [field: string]: unknown;
}

/** An event the server (or the client, before sending) refused. */
export interface RejectedEvent {
  /** The event as it was sent (with its `idempotency_key` and `timestamp`). */
  event: Record<string, unknown>;
  /** Index of the event in the batch that was sent. */
  index: number;
  field?: string;
  reason: string;
}

export interface RejectionInfo {
  /** HTTP status of the answer (202 for a partial batch, 400 for a refused batch; 0 when the client refused it). */
  status: number;
  /** Events of the batch the server accepted. */
  accepted: number;
  /** Agents the server refused (plan limit), when it named any. */
  rejectedAgents?: string[];
}

/** A batch the client could not deliver: it gave up retrying, or the server refused the request. */
export interface DeliveryFailure {
  /**
   * `gave_up`: retries ran past `maxRetryTimeMs` (or a `Retry-After` lies past it);
   * `http_error`: a 4xx other than 400/429 (401, 403, 413, 415 …), not retried;
   * `closed`: the client was closed (or its exit deadline passed) before the batch was delivered.
   */
  kind: "gave_up" | "http_error" | "closed";
  /** The events of the batch (parsed back from what was sent). */
  events: Record<string, unknown>[];
  /** Last HTTP status seen, if any. */
  status?: number;
  /** Server's `reason` / problem `title`, or the network error's message. */
  message?: string;
  /** How many attempts were made. */
  attempts: number;
}

export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface AgentSpendOptions {
  /** Base URL of the AgentSpend app, e.g. `https://spend.example.com`. Default: `AGENTSPEND_URL`. */
  baseUrl?: string;
  /** API key (scope `ingest`). Default: `AGENTSPEND_KEY`. Never logged. */
  apiKey?: string;
  /** Default `agent_name` of recorded events and checks. */
  agentName?: string;
  /** Fields added to every recorded event unless the event sets them (e.g. `team`, `user_id`, `tags`). */
  defaults?: Partial<SpendEvent>;

  /** Events per request (server max 1,000). Default 1,000. */
  maxBatchEvents?: number;
  /** Bytes of uncompressed JSON per request body (server max 1 MiB). Default 1,048,576. */
  maxBatchBytes?: number;
  /** A non-empty buffer is sent at most this long after its first event. Default 1,000 ms. */
  flushIntervalMs?: number;
  /** Events held at most; past it `record()` drops and counts (`client.dropped`). Default 10,000. */
  maxBufferEvents?: number;
  /** Bytes of JSON held at most. Default 16 MiB. */
  maxBufferBytes?: number;

  /** Give up a batch when retrying would pass this much time since its first attempt. Default 120,000 ms. */
  maxRetryTimeMs?: number;
  /** First backoff cap; doubles each retry (full jitter: a random wait in [0, cap)). Default 500 ms. */
  initialBackoffMs?: number;
  /** Largest backoff cap. Default 30,000 ms. */
  maxBackoffMs?: number;
  /** Abort one HTTP request after this long. Default 30,000 ms for ingest, `checkTimeoutMs` for checks. */
  requestTimeoutMs?: number;
  /** Abort a check/reserve/release after this long. Default 5,000 ms. */
  checkTimeoutMs?: number;
  /** gzip ingest bodies with `CompressionStream` where the runtime has it. Default true. */
  gzip?: boolean;

  /**
   * What `check()` / `reserve()` / `release()` do when the service cannot be reached (network error,
   * timeout, 5xx or 503): `true` (the default) answers "allowed" with `failedOpen: true`, so an outage of
   * AgentSpend never stops the agents; `false` throws `AgentSpendUnavailableError`. A real refusal
   * (429 `allowed:false`) always throws `SpendRefusedError`.
   */
  failOpen?: boolean;

  /** In Node, flush on `beforeExit` (deadline `exitFlushTimeoutMs`). Default true. */
  flushOnExit?: boolean;
  /** Default 5,000 ms. */
  exitFlushTimeoutMs?: number;

  /** Events the server (or client) refused: a 202 with `errors`, or a whole-batch 400. Not retried. */
  onRejected?: (rejected: RejectedEvent[], info: RejectionInfo) => void;
  /** A batch that could not be delivered (gave up, refused request, closed). */
  onError?: (failure: DeliveryFailure) => void;

  /** Injection points, for tests and unusual runtimes. */
  fetch?: typeof fetch;
  /** Wait `ms` milliseconds (backoff and Retry-After); rejects or resolves early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Current time in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Uniform random number in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /** Timers for the flush interval. Default the global ones, `unref`'d when possible. */
  timers?: TimerApi;
}

/** Body of `POST /api/v1/check` (wire names). `agent_name` defaults to the client's `agentName`. */
export interface CheckRequest {
  agent_name?: string;
  user_id?: string;
  team?: string;
  model?: string;
  tool?: string;
  estimated_cost_usd?: number;
  estimated_tokens?: number;
  run_id?: string;
  idempotency_key?: string;
  reservation_ttl_seconds?: number;
  [field: string]: unknown;
}

export interface Reservation {
  id: string;
  expiresAt?: Date;
  budgetIds: string[];
}

export interface CheckResult {
  allowed: true;
  /** Room left per budget id. */
  remaining: Record<string, number>;
  /** Present for `reserve()` when a block budget applied and the estimate is held. */
  reservation?: Reservation;
  /** True when the service could not be reached and `failOpen` let the call through. */
  failedOpen: boolean;
  /** The parsed answer body (empty when failed open). */
  raw: Record<string, unknown>;
}
