using System.Text.Json.Serialization;
using AgentSpend.Core.Domain;

namespace AgentSpend.Core.Metrics;

/// <summary>The counters every metrics answer carries, as the API shows them (cost in dollars).</summary>
public class UsageTotals
{
    public long Events { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public long CacheReadTokens { get; init; }
    public long CacheWriteTokens { get; init; }
    public long ReasoningTokens { get; init; }
    public decimal CostUsd { get; init; }
    public long UnpricedEvents { get; init; }
    public long Successes { get; init; }
    public long Failures { get; init; }
    public long DurationMs { get; init; }

    /// <summary>The server's catalog estimate over the same events (where their model has a price), to compare with <see cref="CostUsd"/>.</summary>
    public decimal EstimatedCostUsd { get; init; }
    public long ServerPricedEvents { get; init; }
    public long BaselineTokens { get; init; }

    protected UsageTotals(UsageCounters c)
    {
        Events = c.Events;
        InputTokens = c.InputTokens;
        OutputTokens = c.OutputTokens;
        CacheReadTokens = c.CacheReadTokens;
        CacheWriteTokens = c.CacheWriteTokens;
        ReasoningTokens = c.ReasoningTokens;
        CostUsd = Money.ToUsd(c.CostNanos);
        UnpricedEvents = c.UnpricedEvents;
        Successes = c.Successes;
        Failures = c.Failures;
        DurationMs = c.DurationMs;
        EstimatedCostUsd = Money.ToUsd(c.EstimatedCostNanos);
        ServerPricedEvents = c.ServerPricedEvents;
        BaselineTokens = c.BaselineTokens;
    }
}

public sealed class Overview(string from, string to, UsageCounters counters) : UsageTotals(counters)
{
    [JsonPropertyOrder(-2)] public string From { get; } = from;
    [JsonPropertyOrder(-1)] public string To { get; } = to;
}

public sealed class TimeseriesPoint(string? date, string? hour, UsageCounters counters) : UsageTotals(counters)
{
    /// <summary>Workspace-local day, for daily points.</summary>
    [JsonPropertyOrder(-2)] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Date { get; } = date;

    /// <summary>Start of the UTC hour, for hourly points.</summary>
    [JsonPropertyOrder(-1)] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Hour { get; } = hour;
}

public sealed record Timeseries(string Granularity, string From, string To, IReadOnlyList<TimeseriesPoint> Points);

public sealed class BreakdownItem(string? key, UsageCounters counters) : UsageTotals(counters)
{
    /// <summary>The dimension's value; null for events that did not name one (user and team are optional).</summary>
    [JsonPropertyOrder(-1)] public string? Key { get; } = key;
}

public sealed record Breakdown(string By, string From, string To, IReadOnlyList<BreakdownItem> Items);
