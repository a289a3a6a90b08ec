import type { SpendEvent } from "./types.js";

/**
 * Response helpers: turn a provider's response object (or its JSON text) into the usage part of an
 * event, every token kind per the server's rule (docs/pricing.md): `input_tokens` excludes cache reads
 * and writes, `reasoning_tokens` are part of `output_tokens`, `cache_write_1h_tokens` is the 1-hour
 * share of `cache_write_tokens`. Only ids, model and counts are read: nothing of prompts or outputs.
 *
 * A token field whose source is absent from the response is left out (not 0); the response `id`
 * becomes the `idempotency_key`, so one call recorded twice is counted once. Pass `extra` to add
 * fields (`agent_name`, `duration_ms`, `tags` …); they win over what the response gives.
 */

type Json = Record<string, unknown>;

function asObject(response: unknown): Json {
  let r = response;
  if (typeof r === "string") r = JSON.parse(r);
  if (r && typeof r === "object" && !Array.isArray(r)) return r as Json;
  throw new TypeError("AgentSpend: expected a response object or its JSON text");
}

function obj(v: unknown): Json | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function put(e: SpendEvent, field: string, v: number | undefined): void {
  if (v !== undefined) e[field] = Math.max(0, Math.round(v));
}

function finish(e: SpendEvent, r: Json, extra?: Partial<SpendEvent>): SpendEvent {
  const id = str(r.id);
  if (id !== undefined) e.idempotency_key = id;
  return extra ? { ...e, ...extra } : e;
}

/** OpenAI Chat Completions (`object: "chat.completion"`, also the final chunk of a stream with usage). */
export function fromOpenAIChatCompletion(response: unknown, extra?: Partial<SpendEvent>): SpendEvent {
  const r = asObject(response);
  const u = obj(r.usage) ?? {};
  const e: SpendEvent = { provider: "openai" };
  const model = str(r.model);
  if (model !== undefined) e.model = model;
  const prompt = num(u.prompt_tokens);
  const cached = num(obj(u.prompt_tokens_details)?.cached_tokens);
  put(e, "input_tokens", prompt === undefined ? undefined : prompt - (cached ?? 0));
  put(e, "output_tokens", num(u.completion_tokens));
  put(e, "cache_read_tokens", cached);
  put(e, "reasoning_tokens", num(obj(u.completion_tokens_details)?.reasoning_tokens));
  return finish(e, r, extra);
}

/** OpenAI Responses API (`object: "response"`). */
export function fromOpenAIResponse(response: unknown, extra?: Partial<SpendEvent>): SpendEvent {
  const r = asObject(response);
  const u = obj(r.usage) ?? {};
  const e: SpendEvent = { provider: "openai" };
  const model = str(r.model);
  if (model !== undefined) e.model = model;
  const input = num(u.input_tokens);
  const cached = num(obj(u.input_tokens_details)?.cached_tokens);
  put(e, "input_tokens", input === undefined ? undefined : input - (cached ?? 0));
  put(e, "output_tokens", num(u.output_tokens));
  put(e, "cache_read_tokens", cached);
  put(e, "reasoning_tokens", num(obj(u.output_tokens_details)?.reasoning_tokens));
  return finish(e, r, extra);
}

/** Anthropic Messages API (`type: "message"`). */
export function fromAnthropicMessage(response: unknown, extra?: Partial<SpendEvent>): SpendEvent {
  const r = asObject(response);
  const u = obj(r.usage) ?? {};
  const e: SpendEvent = { provider: "anthropic" };
  const model = str(r.model);
  if (model !== undefined) e.model = model;
  put(e, "input_tokens", num(u.input_tokens));
  put(e, "output_tokens", num(u.output_tokens));
  put(e, "cache_read_tokens", num(u.cache_read_input_tokens));
  put(e, "cache_write_tokens", num(u.cache_creation_input_tokens));
  put(e, "cache_write_1h_tokens", num(obj(u.cache_creation)?.ephemeral_1h_input_tokens));
  return finish(e, r, extra);
}

/**
 * Any of the three, told apart by shape: Anthropic (`type: "message"` or `cache_read_input_tokens` /
 * `cache_creation_input_tokens` in usage), OpenAI Responses (`object: "response"` or `input_tokens`
 * in usage), OpenAI Chat Completions (`prompt_tokens` in usage).
 */
export function fromResponse(response: unknown, extra?: Partial<SpendEvent>): SpendEvent {
  const r = asObject(response);
  const u = obj(r.usage) ?? {};
  if (r.type === "message" || "cache_read_input_tokens" in u || "cache_creation_input_tokens" in u)
    return fromAnthropicMessage(r, extra);
  if (r.object === "response" || "input_tokens" in u) return fromOpenAIResponse(r, extra);
  if (String(r.object ?? "").startsWith("chat.completion") || "prompt_tokens" in u)
    return fromOpenAIChatCompletion(r, extra);
  throw new TypeError("AgentSpend: not an OpenAI or Anthropic response with usage");
}
