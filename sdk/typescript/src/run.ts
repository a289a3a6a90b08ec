import type { AgentSpend } from "./client.js";
import type { CheckRequest, CheckResult, SpendEvent } from "./types.js";

export interface RunOptions {
  /** The run's id. Default: a new UUID v7. */
  runId?: string;
  /** `agent_name` of the run's events (default: the client's `agentName`). */
  agentName?: string;
  /** `task_type` of the run's events. Default: the run's name. */
  taskType?: string;
  /** Fields stamped on every event of the run unless the event sets them (`session_id`, `user_id`, `team`, `tags` …). */
  fields?: Partial<SpendEvent>;
  /**
   * Record a summary event when the run ends (default true). It carries the run's `duration_ms` and
   * outcome (`task_success`), no tokens and `cost_usd: 0`, the provider and model of the run's last
   * event (else `summaryProvider` / `summaryModel`), the run's `agentName` (else the agent of its last
   * event, else the client's), and the tag `agentspend.event: run_summary`.
   */
  summary?: boolean;
  /** Provider of the summary event when the run recorded no event. Default `"agentspend"`. */
  summaryProvider?: string;
  /** Model of the summary event when the run recorded no event. Default `"run"`. */
  summaryModel?: string;
}

export interface EndOptions {
  /** The run's outcome, `task_success` of its summary. Default: what `succeed()` / `fail()` said, else none. */
  success?: boolean;
}

/**
 * One run of an agent: the events recorded with `run.record()` carry its `run_id` (and its name as
 * `task_type`); ending it records one summary event with its duration and outcome.
 *
 * `await using run = client.startRun("triage")` ends it at the end of the scope; `client.run(name, fn)`
 * ends it when `fn` settles, with the outcome true if `fn` resolved and false if it threw.
 */
export class Run implements AsyncDisposable {
  readonly id: string;
  readonly name: string;
  /** Start time, ms since the epoch. */
  readonly startedAt: number;

  readonly #client: AgentSpend;
  readonly #opts: RunOptions;
  readonly #now: () => number;
  readonly #fields: Record<string, unknown>;
  #outcome: boolean | undefined;
  #ended = false;
  #events = 0;
  #lastAgent: string | undefined;
  #lastProvider: string | undefined;
  #lastModel: string | undefined;

  /** @internal Made by `AgentSpend.startRun`. */
  constructor(client: AgentSpend, name: string, options: RunOptions, now: () => number, newId: string) {
    this.#client = client;
    this.#opts = options;
    this.#now = now;
    this.name = name;
    this.id = options.runId ?? newId;
    this.startedAt = now();
    const f: Record<string, unknown> = { ...(options.fields ?? {}) };
    if (options.agentName !== undefined) f.agent_name = options.agentName;
    f.task_type = options.taskType ?? f.task_type ?? name;
    this.#fields = f;
  }

  /** The outcome set so far (`succeed()`, `fail()`, `end({success})`). */
  get outcome(): boolean | undefined {
    return this.#outcome;
  }

  /** Whether the run has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Events recorded in this run (the summary not counted). */
  get events(): number {
    return this.#events;
  }

  /** Records an event of this run: `run_id` is the run's; its fields fill in what the event leaves out. */
  record(event: SpendEvent): boolean {
    try {
      const e: SpendEvent = { ...this.#fields, ...event, run_id: this.id };
      const tags = this.#fields.tags as Record<string, string> | undefined;
      if (tags && event.tags) e.tags = { ...tags, ...event.tags };
      if (typeof e.agent_name === "string") this.#lastAgent = e.agent_name;
      if (typeof e.provider === "string") this.#lastProvider = e.provider;
      if (typeof e.model === "string") this.#lastModel = e.model;
      const ok = this.#client.record(e);
      if (ok) this.#events++;
      return ok;
    } catch {
      return false;
    }
  }

  /** `client.check()` with the run's `run_id`, agent, user and team. */
  check(request: CheckRequest = {}): Promise<CheckResult> {
    return this.#client.check({ ...this.#checkFields(), ...request });
  }

  /** `client.reserve()` with the run's `run_id`: the hold is released once the run's usage is counted. */
  reserve(request: CheckRequest = {}): Promise<CheckResult> {
    return this.#client.reserve({ ...this.#checkFields(), ...request });
  }

  /** Marks the run as a success (`task_success: true`). */
  succeed(): void {
    this.#outcome = true;
  }

  /** Marks the run as a failure (`task_success: false`). */
  fail(): void {
    this.#outcome = false;
  }

  /** Ends the run and records its summary event (once; later calls do nothing). */
  end(options: EndOptions = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    if (options.success !== undefined) this.#outcome = options.success;
    if (this.#opts.summary === false) return;
    const tags = { ...((this.#fields.tags as Record<string, string> | undefined) ?? {}), "agentspend.event": "run_summary" };
    const e: SpendEvent = {
      ...this.#fields,
      // The run's agentName, else the agent of its last event; else the client fills in its own.
      ...(this.#fields.agent_name === undefined && this.#lastAgent !== undefined ? { agent_name: this.#lastAgent } : {}),
      provider: this.#lastProvider ?? this.#opts.summaryProvider ?? "agentspend",
      model: this.#lastModel ?? this.#opts.summaryModel ?? "run",
      run_id: this.id,
      duration_ms: Math.max(0, Math.round(this.#now() - this.startedAt)),
      cost_usd: 0,
      tags,
    };
    if (this.#outcome !== undefined) e.task_success = this.#outcome;
    this.#client.record(e);
  }

  /** `await using run = client.startRun(...)`: ends the run (its outcome as set by `succeed()` / `fail()`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.end();
    return Promise.resolve();
  }

  #checkFields(): CheckRequest {
    const c: CheckRequest = { run_id: this.id };
    for (const k of ["agent_name", "user_id", "team"] as const) {
      const v = this.#fields[k];
      if (typeof v === "string") c[k] = v;
    }
    return c;
  }
}
