using System.Text.Json.Serialization;

namespace AgentSpend.Core.Domain;

/// <summary>
/// One validated, normalised model call as it travels through the ingest queue. Short JSON names
/// keep queue messages small; <see cref="Day"/> is fixed at ingest so that a redelivered message
/// always lands in the same partition.
/// </summary>
public sealed record UsageEvent
{
    /// <summary>
    /// The most an event may take serialized with <c>CoreJsonContext</c> (UTF-8 bytes). Ingest refuses a larger event
    /// (<c>too_large</c>), so the aggregator can rely on every queued event fitting a page (<c>EventPages</c>), the
    /// rows it names a value in, and one queue message.
    /// <para>
    /// Azure Table Storage holds at most 32,768 UTF-16 characters (64 KiB) in a string property and 1 MiB in an entity:
    /// a run day keeps the event's agent, user and team in properties of their own, so one field must fit one.
    /// The serializer escapes every non-ASCII character, so its UTF-8 bytes are its characters (never fewer, under any
    /// encoder). 2,048 are left for what is added after ingest: the aggregator's <see cref="Held"/> mark, re-priced
    /// cost fields. A queue message holds 48 KiB of compressed events, more than one such event takes.
    /// </para>
    /// </summary>
    public const int MaxSerializedBytes = 30 * 1024;

    /// <summary>Identity used for de-duplication: <c>k:</c> + the client's idempotency key, or <c>s:</c> + a server id.</summary>
    [JsonPropertyName("id")] public required string Id { get; init; }

    [JsonPropertyName("ws")] public required string WorkspaceId { get; init; }

    /// <summary>The workspace-local calendar day of <see cref="Timestamp"/>, yyyy-MM-dd.</summary>
    [JsonPropertyName("day")] public required string Day { get; init; }

    [JsonPropertyName("ts")] public required DateTimeOffset Timestamp { get; init; }

    [JsonPropertyName("ag")] public required string Agent { get; init; }

    [JsonPropertyName("pv")] public required string Provider { get; init; }

    [JsonPropertyName("md")] public required string Model { get; init; }

    [JsonPropertyName("in")] public long InputTokens { get; init; }

    [JsonPropertyName("out")] public long OutputTokens { get; init; }

    [JsonPropertyName("cr")] public long CacheReadTokens { get; init; }

    [JsonPropertyName("cw")] public long CacheWriteTokens { get; init; }

    /// <summary>
    /// How many of <see cref="CacheWriteTokens"/> were 1-hour cache writes (Anthropic prices them above 5-minute
    /// ones); null when the client did not say, and then all are priced as 5-minute writes. Not a bucket counter.
    /// </summary>
    [JsonPropertyName("cw1h")] public long? CacheWrite1hTokens { get; init; }

    [JsonPropertyName("rs")] public long ReasoningTokens { get; init; }

    /// <summary>Cost in billionths of a US dollar; null when the client sent none (the event is unpriced).</summary>
    [JsonPropertyName("cost")] public long? CostNanos { get; init; }

    [JsonPropertyName("dur")] public long? DurationMs { get; init; }

    [JsonPropertyName("run")] public string? RunId { get; init; }

    [JsonPropertyName("ses")] public string? SessionId { get; init; }

    [JsonPropertyName("usr")] public string? UserId { get; init; }

    [JsonPropertyName("team")] public string? Team { get; init; }

    [JsonPropertyName("fw")] public string? Framework { get; init; }

    [JsonPropertyName("task")] public string? TaskType { get; init; }

    [JsonPropertyName("ok")] public bool? TaskSuccess { get; init; }

    [JsonPropertyName("ik")] public string? IdempotencyKey { get; init; }

    /// <summary>The id of the API key the event was sent with (ingest, OTLP or import).</summary>
    [JsonPropertyName("kid")] public string? KeyId { get; init; }

    /// <summary>
    /// Set by the aggregator when the event arrived while a stop was in force for it: <c>killed</c> or <c>paused</c>.
    /// Such usage is still counted, never dropped; this flags it.
    /// </summary>
    [JsonPropertyName("held")] public string? Held { get; init; }

    [JsonPropertyName("tags")] public IReadOnlyDictionary<string, string>? Tags { get; init; }

    /// <summary>The server's catalog estimate of the cost, nano-USD; null when the model has no price.</summary>
    [JsonPropertyName("est")] public long? EstimatedCostNanos { get; init; }

    /// <summary>True when <see cref="CostNanos"/> is the server's estimate because the client sent no cost.</summary>
    [JsonPropertyName("sp")] public bool ServerPriced { get; init; }

    /// <summary>For optimisation runs: the tokens the run would have used without the optimisation.</summary>
    [JsonPropertyName("base")] public long? BaselineTokens { get; init; }

    /// <summary>True for run events whose tokens came as one total (in <see cref="InputTokens"/>): they cannot be priced per kind.</summary>
    [JsonPropertyName("ut")] public bool UnsplitTokens { get; init; }

    /// <summary>
    /// Set on the records of harnesses that report one call through both a per-call record and session
    /// metrics (Claude Code): the aggregator counts, per session and model of a day, the larger of the two.
    /// </summary>
    [JsonPropertyName("lr")] public LedgerRole? Ledger { get; init; }

    /// <summary>Where the event stood in the request's batch, for error reports; not queued.</summary>
    [JsonIgnore] public int SourceIndex { get; init; }
}

/// <summary>How an event takes part in its session ledger (see <see cref="Aggregation.SessionLedger"/>).</summary>
public enum LedgerRole
{
    /// <summary>A per-call record (log, span, session-file line): counts one call.</summary>
    Call = 1,

    /// <summary>A share of a session metric's data point: counts tokens and cost, no call.</summary>
    Metric = 2,
}
