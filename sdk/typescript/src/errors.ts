/** Base class of every error this SDK throws. */
export class AgentSpendError extends Error {
  /** HTTP status, when the error comes from an answer. */
  readonly status?: number;
  constructor(message: string, status?: number) {
    super(message);
    this.name = "AgentSpendError";
    if (status !== undefined) this.status = status;
  }
}

/** Missing or invalid configuration (no base URL, no API key). */
export class AgentSpendConfigError extends AgentSpendError {
  constructor(message: string) {
    super(message);
    this.name = "AgentSpendConfigError";
  }
}

/**
 * The service could not be reached or did not answer usefully (network error, timeout, 5xx/503), and
 * `failOpen` is false.
 */
export class AgentSpendUnavailableError extends AgentSpendError {
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, status);
    this.name = "AgentSpendUnavailableError";
    if (options && "cause" in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

export type RefusalReason = "killed" | "agent_paused" | "budget_exceeded";

/** The budget that refused a check, as the server describes it. */
export interface RefusingBudget {
  id?: string;
  name?: string;
  used?: number;
  limit?: number;
  remaining?: number;
  period_end?: string;
  [field: string]: unknown;
}

/** A check or reservation was refused (429, `allowed:false`): a kill switch, a pause or a budget. */
export class SpendRefusedError extends AgentSpendError {
  readonly reason: RefusalReason;
  /** The refusing budget (`budget_exceeded`, often `agent_paused`). */
  readonly budget?: RefusingBudget;
  /** When the refusal is expected to lift (`resume_at`), if the server said. */
  readonly resumeAt?: Date;
  /** The `Retry-After` header in milliseconds, if present. */
  readonly retryAfterMs?: number;
  /** The parsed answer body. */
  readonly body: Record<string, unknown>;

  constructor(body: Record<string, unknown>, retryAfterMs?: number) {
    const reason = String(body.reason ?? "budget_exceeded") as RefusalReason;
    super(`AgentSpend refused the call: ${reason}`, 429);
    this.name = "SpendRefusedError";
    this.reason = reason;
    this.body = body;
    if (body.budget && typeof body.budget === "object") this.budget = body.budget as RefusingBudget;
    if (typeof body.resume_at === "string") {
      const d = new Date(body.resume_at);
      if (!Number.isNaN(d.getTime())) this.resumeAt = d;
    }
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}
