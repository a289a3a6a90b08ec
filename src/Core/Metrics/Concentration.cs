using AgentSpend.Core.Domain;

namespace AgentSpend.Core.Metrics;

/// <summary>One value's shares of the range's cost, tokens and calls, in percent.</summary>
public sealed record ConcentrationShare(string? Key, decimal CostUsd, long Tokens, long Events, decimal CostSharePct, decimal TokenSharePct, decimal CallSharePct);

/// <summary>Herfindahl–Hirschman index per measure: the sum of squared percentage shares, 0 to 10,000.</summary>
public sealed record HerfindahlIndex(decimal Cost, decimal Tokens, decimal Calls);

public sealed record ConcentrationOfDimension(IReadOnlyList<ConcentrationShare> Items, HerfindahlIndex Hhi);

/// <summary>One provider holding at least the threshold of one measure.</summary>
public sealed record OverRelianceWarning(string Provider, string Measure, decimal SharePct, int ThresholdPct, string Message);

public sealed record Concentration(
    string Range, string From, string To, int ThresholdPct, int MinEvents,
    ConcentrationOfDimension Providers, ConcentrationOfDimension Models, IReadOnlyList<OverRelianceWarning> Warnings)
{
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Filters { get; init; }

    /// <summary>Below this many calls in the range a share says little, so no warning is raised.</summary>
    public const int MinEventsForWarning = 5;

    /// <summary>Tokens that a call moves: input, output and cache reads and writes (reasoning is part of output).</summary>
    public static long TokensOf(UsageCounters c) => c.InputTokens + c.OutputTokens + c.CacheReadTokens + c.CacheWriteTokens;

    public static ConcentrationOfDimension Of(IReadOnlyDictionary<string, UsageCounters> values)
    {
        long cost = values.Values.Sum(c => c.CostNanos), tokens = values.Values.Sum(TokensOf), calls = values.Values.Sum(c => c.Events);
        var items = values
            .Select(kv => new ConcentrationShare(
                kv.Key.Length == 0 ? null : kv.Key, Money.ToUsd(kv.Value.CostNanos), TokensOf(kv.Value), kv.Value.Events,
                Round(Share(kv.Value.CostNanos, cost)), Round(Share(TokensOf(kv.Value), tokens)), Round(Share(kv.Value.Events, calls))))
            .OrderByDescending(i => i.CostSharePct).ThenByDescending(i => i.Events).ThenBy(i => i.Key, StringComparer.Ordinal)
            .ToArray();
        // The index is computed from exact shares, then rounded: rounded shares squared would drift.
        decimal Hhi(Func<UsageCounters, long> measure, long total) => Round(values.Values.Sum(c => Share(measure(c), total) * Share(measure(c), total)));
        return new ConcentrationOfDimension(items, new HerfindahlIndex(Hhi(c => c.CostNanos, cost), Hhi(TokensOf, tokens), Hhi(c => c.Events, calls)));
    }

    public static IReadOnlyList<OverRelianceWarning> Warn(IReadOnlyDictionary<string, UsageCounters> providers, int thresholdPct)
    {
        if (providers.Values.Sum(c => c.Events) < MinEventsForWarning)
        {
            return [];
        }

        var measures = new (string Name, Func<UsageCounters, long> Of)[] { ("cost", c => c.CostNanos), ("tokens", TokensOf), ("calls", c => c.Events) };
        return measures
            .SelectMany(m =>
            {
                var total = providers.Values.Sum(m.Of);
                return providers
                    .Where(p => total > 0 && Share(m.Of(p.Value), total) >= thresholdPct)
                    .Select(p => new OverRelianceWarning(p.Key, m.Name, Round(Share(m.Of(p.Value), total)), thresholdPct,
                        $"{(p.Key.Length == 0 ? "(unnamed)" : p.Key)} holds {Round(Share(m.Of(p.Value), total))}% of {m.Name}, at or above the {thresholdPct}% threshold."));
            })
            .ToArray();
    }

    private static decimal Share(long part, long total) => total == 0 ? 0 : part * 100m / total;

    private static decimal Round(decimal value) => Math.Round(value, 2, MidpointRounding.AwayFromZero);
}
