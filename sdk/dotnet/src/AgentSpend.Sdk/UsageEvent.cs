using System;
using System.Collections.Generic;

namespace AgentSpend.Sdk;

/// <summary>
/// One call's usage, as <c>POST /api/v1/ingest</c> takes it (docs/ingest.md, "Events"). Every field is optional
/// here; the server requires <see cref="AgentName"/>, <see cref="Provider"/>, <see cref="Model"/> and
/// <see cref="Timestamp"/> (the client fills <see cref="AgentName"/> from its default and <see cref="Timestamp"/>
/// with the time of <see cref="AgentSpendClient.Record"/>). A field left <c>null</c> is not sent.
/// </summary>
/// <remarks>
/// The rule for token kinds (docs/pricing.md): <see cref="InputTokens"/> excludes cache reads and writes,
/// <see cref="ReasoningTokens"/> are part of <see cref="OutputTokens"/>, <see cref="CacheWrite1hTokens"/> is the
/// 1-hour share of <see cref="CacheWriteTokens"/>.
/// </remarks>
public sealed class UsageEvent
{
    /// <summary><c>agent_name</c>: the agent; defaults to the client's <see cref="AgentSpendOptions.AgentName"/>.</summary>
    public string? AgentName { get; set; }

    /// <summary><c>provider</c> (for example <c>openai</c>, <c>anthropic</c>).</summary>
    public string? Provider { get; set; }

    /// <summary><c>model</c>.</summary>
    public string? Model { get; set; }

    /// <summary><c>timestamp</c>; defaults to the time the event was recorded.</summary>
    public DateTimeOffset? Timestamp { get; set; }

    /// <summary><c>input_tokens</c>: input tokens, cache reads and writes excluded.</summary>
    public long? InputTokens { get; set; }

    /// <summary><c>output_tokens</c>, reasoning tokens included.</summary>
    public long? OutputTokens { get; set; }

    /// <summary><c>cache_read_tokens</c>.</summary>
    public long? CacheReadTokens { get; set; }

    /// <summary><c>cache_write_tokens</c> (5-minute and 1-hour writes together).</summary>
    public long? CacheWriteTokens { get; set; }

    /// <summary><c>cache_write_1h_tokens</c>: the 1-hour share of <see cref="CacheWriteTokens"/>.</summary>
    public long? CacheWrite1hTokens { get; set; }

    /// <summary><c>reasoning_tokens</c>: part of <see cref="OutputTokens"/>, not added to them.</summary>
    public long? ReasoningTokens { get; set; }

    /// <summary><c>cost_usd</c>: the cost when you know it; otherwise the server prices the tokens.</summary>
    public decimal? CostUsd { get; set; }

    /// <summary><c>duration_ms</c>.</summary>
    public long? DurationMs { get; set; }

    /// <summary><c>run_id</c>.</summary>
    public string? RunId { get; set; }

    /// <summary><c>session_id</c>.</summary>
    public string? SessionId { get; set; }

    /// <summary><c>user_id</c>.</summary>
    public string? UserId { get; set; }

    /// <summary><c>team</c>.</summary>
    public string? Team { get; set; }

    /// <summary><c>framework</c>.</summary>
    public string? Framework { get; set; }

    /// <summary><c>task_type</c>.</summary>
    public string? TaskType { get; set; }

    /// <summary><c>task_success</c>.</summary>
    public bool? TaskSuccess { get; set; }

    /// <summary><c>idempotency_key</c>: the client sets a UUIDv7 when it is empty; a resend carries the same key.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary><c>tags</c>: at most 32 string pairs.</summary>
    public IDictionary<string, string>? Tags { get; set; }

    /// <summary>A copy (its own <see cref="Tags"/> dictionary).</summary>
    public UsageEvent Clone()
    {
        var copy = (UsageEvent)MemberwiseClone();
        if (Tags is not null)
        {
            copy.Tags = new Dictionary<string, string>(Tags, StringComparer.Ordinal);
        }

        return copy;
    }

    /// <summary>Sets every field of this event that is <c>null</c> from <paramref name="defaults"/>; tags are merged (this event's win).</summary>
    internal void FillFrom(UsageEvent? defaults)
    {
        if (defaults is null)
        {
            return;
        }

        AgentName ??= defaults.AgentName;
        Provider ??= defaults.Provider;
        Model ??= defaults.Model;
        Timestamp ??= defaults.Timestamp;
        InputTokens ??= defaults.InputTokens;
        OutputTokens ??= defaults.OutputTokens;
        CacheReadTokens ??= defaults.CacheReadTokens;
        CacheWriteTokens ??= defaults.CacheWriteTokens;
        CacheWrite1hTokens ??= defaults.CacheWrite1hTokens;
        ReasoningTokens ??= defaults.ReasoningTokens;
        CostUsd ??= defaults.CostUsd;
        DurationMs ??= defaults.DurationMs;
        RunId ??= defaults.RunId;
        SessionId ??= defaults.SessionId;
        UserId ??= defaults.UserId;
        Team ??= defaults.Team;
        Framework ??= defaults.Framework;
        TaskType ??= defaults.TaskType;
        TaskSuccess ??= defaults.TaskSuccess;
        IdempotencyKey ??= defaults.IdempotencyKey;
        if (defaults.Tags is { Count: > 0 })
        {
            var merged = new Dictionary<string, string>(defaults.Tags, StringComparer.Ordinal);
            if (Tags is not null)
            {
                foreach (var pair in Tags)
                {
                    merged[pair.Key] = pair.Value;
                }
            }

            Tags = merged;
        }
    }
}
