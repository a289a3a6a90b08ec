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

    /// <summary>Events that arrived while a kill switch or a budget's pause was in force for them: counted, and flagged.</summary>
    public long HeldEvents { get; init; }

    public decimal HeldCostUsd { get; init; }

    /// <summary>Successes among the events that reported an outcome, in percent (one decimal); null when none did.</summary>
    public decimal? SuccessRatePct => Successes + Failures == 0 ? null : Math.Round(Successes * 100m / (Successes + Failures), 1, MidpointRounding.AwayFromZero);

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
        HeldEvents = c.HeldEvents;
        HeldCostUsd = Money.ToUsd(c.HeldCostNanos);
    }
}

public sealed class Overview(string from, string to, UsageCounters counters) : UsageTotals(counters)
{
    /// <summary>How the range was named (<c>today</c>, <c>7d</c>, <c>mtd</c>…, or <c>custom</c>).</summary>
    [JsonPropertyOrder(-3)] public string Range { get; init; } = "custom";
    [JsonPropertyOrder(-2)] public string From { get; } = from;
    [JsonPropertyOrder(-1)] public string To { get; } = to;

    /// <summary>The filters the figures are restricted to; absent when none.</summary>
    [JsonPropertyOrder(-1)] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyDictionary<string, string>? Filters { get; init; }

    /// <summary>Distinct agents with events in the range.</summary>
    public int ActiveAgents { get; init; }

    /// <summary>Distinct named users with events in the range.</summary>
    public int ActiveUsers { get; init; }

    /// <summary>The same figures over the previous equal period.</summary>
    public PeriodTotals? Previous { get; init; }

    /// <summary>Percentage change from <see cref="Previous"/>; null where the previous figure is zero.</summary>
    public Change? ChangePct { get; init; }

    /// <summary>How the workspace's budgets stand now (whatever the range and filters); absent when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public BudgetsSummary? Budgets { get; set; }
}

/// <summary>One budget's standing, for the overview.</summary>
public sealed record BudgetSummaryItem(string Id, string? Name, string Scope, string? ScopeValue, string Metric, string Period, decimal Used, decimal Limit, decimal UsedPct, string Status);

/// <summary>How many budgets stand where, and the most used ones first.</summary>
public sealed record BudgetsSummary(int Total, int Ok, int Warning, int Exceeded, IReadOnlyList<BudgetSummaryItem> MostUsed)
{
    public const int Shown = 5;
}

public sealed class PeriodTotals(string from, string to, UsageCounters counters) : UsageTotals(counters)
{
    [JsonPropertyOrder(-2)] public string From { get; } = from;
    [JsonPropertyOrder(-1)] public string To { get; } = to;
}

/// <summary>Percentage changes, rounded to one decimal; null when there is nothing to compare with.</summary>
public sealed class Change
{
    public decimal? CostUsd { get; init; }
    public decimal? EstimatedCostUsd { get; init; }
    public decimal? Events { get; init; }
    public decimal? InputTokens { get; init; }
    public decimal? OutputTokens { get; init; }
    public decimal? CacheReadTokens { get; init; }
    public decimal? CacheWriteTokens { get; init; }
    public decimal? ReasoningTokens { get; init; }

    public static Change Between(UsageCounters current, UsageCounters previous) => new()
    {
        CostUsd = Pct(current.CostNanos, previous.CostNanos),
        EstimatedCostUsd = Pct(current.EstimatedCostNanos, previous.EstimatedCostNanos),
        Events = Pct(current.Events, previous.Events),
        InputTokens = Pct(current.InputTokens, previous.InputTokens),
        OutputTokens = Pct(current.OutputTokens, previous.OutputTokens),
        CacheReadTokens = Pct(current.CacheReadTokens, previous.CacheReadTokens),
        CacheWriteTokens = Pct(current.CacheWriteTokens, previous.CacheWriteTokens),
        ReasoningTokens = Pct(current.ReasoningTokens, previous.ReasoningTokens),
    };

    public static decimal? Pct(long current, long previous) =>
        previous == 0 ? null : Math.Round((current - previous) * 100m / previous, 1, MidpointRounding.AwayFromZero);
}

public sealed class TimeseriesPoint(string? date, string? hour, UsageCounters counters) : UsageTotals(counters)
{
    /// <summary>Workspace-local day, for daily points.</summary>
    [JsonPropertyOrder(-2)] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Date { get; } = date;

    /// <summary>Start of the UTC hour, for hourly points.</summary>
    [JsonPropertyOrder(-1)] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Hour { get; } = hour;
}

public sealed record Timeseries(string Granularity, string From, string To, IReadOnlyList<TimeseriesPoint> Points)
{
    /// <summary>The whole range's totals over the previous equal period.</summary>
    public PeriodTotals? Previous { get; init; }

    /// <summary>Percentage change of the range's totals from <see cref="Previous"/>.</summary>
    public Change? ChangePct { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyDictionary<string, string>? Filters { get; init; }

    /// <summary>The grouping the series split the points by; absent without <c>split</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Split { get; init; }

    /// <summary>With <c>split</c>: one series per top value (by cost over the range), then <c>other</c>; each has every point.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<TimeseriesSeries>? Series { get; init; }
}

/// <summary>One value's points; key null for events that did not name one.</summary>
public sealed record TimeseriesSeries(string? Key, IReadOnlyList<TimeseriesPoint> Points);

public sealed class BreakdownItem(string? key, UsageCounters counters) : UsageTotals(counters)
{
    /// <summary>The dimension's value; null for events that did not name one (user and team are optional).</summary>
    [JsonPropertyOrder(-1)] public string? Key { get; } = key;

    /// <summary>The same value's cost over the previous equal period; null where not reckoned (by session).</summary>
    public decimal? PreviousCostUsd { get; init; }

    public long? PreviousEvents { get; init; }

    /// <summary>Percentage change of cost from the previous period; null where that was zero.</summary>
    public decimal? CostChangePct { get; init; }
}

public sealed record Breakdown(string By, string From, string To, IReadOnlyList<BreakdownItem> Items)
{
    public string Range { get; init; } = "custom";

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyDictionary<string, string>? Filters { get; init; }

    /// <summary>What the items are ordered by: cost, tokens or events.</summary>
    public string Sort { get; init; } = "cost";

    /// <summary>With <c>top</c>: the values left out, summed (key <c>other</c>); null when none were.</summary>
    public BreakdownItem? Other { get; init; }

    /// <summary>How many values <see cref="Other"/> sums.</summary>
    public int OtherValues { get; init; }

    /// <summary>
    /// Ranks the values by <paramref name="sort"/> (then events, then key) and folds those past <paramref name="top"/> into <c>other</c>;
    /// with <paramref name="previous"/>, each item carries its value's cost and events over the previous period.
    /// </summary>
    public static Breakdown Of(string by, MetricsRange range, MetricsFilter filter, Dictionary<string, UsageCounters> values, BreakdownSort sort, int? top,
        Dictionary<string, UsageCounters>? previous = null)
    {
        var sorted = MetricsService.Rank(values, sort);
        var shown = top is { } n ? sorted.Take(n).ToArray() : sorted;
        BreakdownItem Item(string? key, UsageCounters counters, IEnumerable<string> keys)
        {
            if (previous is null)
            {
                return new BreakdownItem(key, counters);
            }

            var before = DayUsage.Sum(keys.Select(k => previous.GetValueOrDefault(k)).OfType<UsageCounters>());
            return new BreakdownItem(key, counters)
            {
                PreviousCostUsd = Money.ToUsd(before.CostNanos),
                PreviousEvents = before.Events,
                CostChangePct = Change.Pct(counters.CostNanos, before.CostNanos),
            };
        }

        var other = shown.Length < sorted.Length
            ? Item(MetricsService.OtherKey, DayUsage.Sum(sorted.Skip(shown.Length).Select(kv => kv.Value)), sorted.Skip(shown.Length).Select(kv => kv.Key))
            : null;
        return new Breakdown(by, Workspaces.Workspace.FormatDay(range.From), Workspaces.Workspace.FormatDay(range.To),
            shown.Select(kv => Item(kv.Key.Length == 0 ? null : kv.Key, kv.Value, [kv.Key])).ToArray())
        {
            Range = range.Name,
            Filters = filter.Describe(),
            Sort = sort.ToString().ToLowerInvariant(),
            Other = other,
            OtherValues = sorted.Length - shown.Length,
        };
    }
}

public enum BreakdownSort
{
    Cost,
    Tokens,
    Events,
}
