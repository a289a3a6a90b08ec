using AgentSpend.Core.Domain;
using AgentSpend.Core.Pricing;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Metrics;

/// <summary>Tokens the optimisations saved, where events said what they would have used (<c>baseline_tokens</c>).</summary>
public sealed record TokenSavings(long BaselineTokens, long ActualTokens, long SavedTokens, decimal? ReductionPct);

/// <summary>Outcomes of one value: successes, failures and the rate among those that reported one.</summary>
public sealed record SuccessRate(string? Key, long Successes, long Failures, decimal? SuccessRatePct);

/// <summary>Manual effort against agent time for one task type (null: events without one).</summary>
public sealed record TaskTimeSaved(string? TaskType, long Tasks, int MinutesPerTask, decimal ManualHours, decimal AgentHours, decimal SavedHours);

/// <summary>
/// Time saved: each successful task counts the manual minutes of its task type (the workspace's setting), less
/// the time the agent's calls of that task type took (their <c>duration_ms</c>, failures included).
/// </summary>
public sealed record TimeSaved(int MinutesPerTask, IReadOnlyDictionary<string, int> TaskTypeMinutes, long Tasks, decimal ManualHours, decimal AgentHours, decimal SavedHours, decimal? SavedPct, IReadOnlyList<TaskTimeSaved> ByTaskType);

/// <summary>One model's cache economics, at its price on each day.</summary>
public sealed record ModelCacheEconomics(string Model, long CacheReadTokens, long CacheWriteTokens, decimal ReadSavingsUsd, decimal WriteCostUsd, decimal WritePremiumUsd, decimal NetSavingsUsd);

/// <summary>
/// What caching earned: reads against the uncached input price (<c>read_savings_usd</c>), what writes cost
/// (<c>write_cost_usd</c>) and their premium over plain input (<c>write_premium_usd</c>), and the net of savings
/// less premium. Writes are priced at the 5-minute rate (buckets do not keep 1-hour writes apart). Models
/// without a price are listed, not guessed.
/// </summary>
public sealed record CacheEconomics(long CacheReadTokens, long CacheWriteTokens, decimal ReadSavingsUsd, decimal WriteCostUsd, decimal WritePremiumUsd, decimal NetSavingsUsd, IReadOnlyList<ModelCacheEconomics> ByModel, IReadOnlyList<string> UnpricedModels);

public sealed record Efficiency(
    string Range, string From, string To, TokenSavings Tokens, IReadOnlyList<SuccessRate> SuccessByAgent, IReadOnlyList<SuccessRate> SuccessByTaskType, TimeSaved TimeSaved, CacheEconomics Cache)
{
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Filters { get; init; }
}

/// <summary>Efficiency and ROI from the day buckets (or the filtered slices), priced with the workspace's prices.</summary>
public sealed class EfficiencyMetrics(MetricsService metrics, CostEstimator estimator, PriceOverrideStore overrides)
{
    private const decimal PerMillion = 1_000_000m;

    public async Task<Efficiency> ComputeAsync(Workspace workspace, MetricsRange range, MetricsFilter filter, CancellationToken cancellationToken)
    {
        var days = await metrics.LoadAsync(workspace, range, filter, cancellationToken).ConfigureAwait(false);
        var own = await overrides.ForWorkspaceAsync(workspace.Id, cancellationToken).ConfigureAwait(false);
        var total = DayUsage.Sum(days.Select(d => d.Total));

        var saved = total.BaselineTokens - total.BaselinedTokens;
        var tokens = new TokenSavings(total.BaselineTokens, total.BaselinedTokens, saved, Pct(saved, total.BaselineTokens));

        static SuccessRate[] Rates(Dictionary<string, UsageCounters> values) =>
        [
            .. values.Where(kv => kv.Value.Successes + kv.Value.Failures > 0)
                .OrderByDescending(kv => kv.Value.Successes + kv.Value.Failures).ThenBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => new SuccessRate(kv.Key.Length == 0 ? null : kv.Key, kv.Value.Successes, kv.Value.Failures, Pct(kv.Value.Successes, kv.Value.Successes + kv.Value.Failures))),
        ];
        var byTask = DayUsage.SumValues(days, Grouping.Of(Dimension.TaskType));

        return new Efficiency(range.Name, Workspace.FormatDay(range.From), Workspace.FormatDay(range.To), tokens,
            Rates(DayUsage.SumValues(days, Grouping.Of(Dimension.Agent))), Rates(byTask), Time(workspace.Effort ?? ManualEffort.Default, byTask), Cache(days, own))
        {
            Filters = filter.Describe(),
        };
    }

    private static TimeSaved Time(ManualEffort effort, Dictionary<string, UsageCounters> byTask)
    {
        var rows = byTask
            .Where(kv => kv.Value.Successes > 0 || kv.Value.DurationMs > 0)
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv =>
            {
                var minutes = effort.MinutesFor(kv.Key);
                var manual = Hours(kv.Value.Successes * minutes * 60_000m);
                var agent = Hours(kv.Value.DurationMs);
                return new TaskTimeSaved(kv.Key.Length == 0 ? null : kv.Key, kv.Value.Successes, minutes, manual, agent, manual - agent);
            })
            .ToArray();
        var (manualHours, agentHours) = (rows.Sum(r => r.ManualHours), rows.Sum(r => r.AgentHours));
        return new TimeSaved(effort.MinutesPerTask, effort.TaskTypes, rows.Sum(r => r.Tasks), manualHours, agentHours, manualHours - agentHours,
            manualHours == 0 ? null : Math.Round((manualHours - agentHours) * 100 / manualHours, 1, MidpointRounding.AwayFromZero), rows);
    }

    private CacheEconomics Cache(IReadOnlyList<DayUsage> days, PriceOverrides own)
    {
        var models = new Dictionary<string, (long Read, long Write, decimal Savings, decimal Cost, decimal Premium)>(StringComparer.Ordinal);
        var unpriced = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var day in days)
        {
            foreach (var (model, c) in day.Values(Grouping.Of(Dimension.Model)))
            {
                if (c.CacheReadTokens == 0 && c.CacheWriteTokens == 0)
                {
                    continue;
                }

                if (estimator.PriceFor(model, day.Day, own)?.Price is not { } price)
                {
                    unpriced.Add(model);
                    continue;
                }

                var (read, write) = (price.CacheRead ?? price.Input, price.CacheWrite5m ?? price.Input);
                var sum = models.GetValueOrDefault(model);
                models[model] = (
                    sum.Read + c.CacheReadTokens,
                    sum.Write + c.CacheWriteTokens,
                    sum.Savings + (c.CacheReadTokens * (price.Input - read) / PerMillion),
                    sum.Cost + (c.CacheWriteTokens * write / PerMillion),
                    sum.Premium + (c.CacheWriteTokens * (write - price.Input) / PerMillion));
            }
        }

        var byModel = models
            .Select(kv => new ModelCacheEconomics(kv.Key, kv.Value.Read, kv.Value.Write, Usd(kv.Value.Savings), Usd(kv.Value.Cost), Usd(kv.Value.Premium), Usd(kv.Value.Savings - kv.Value.Premium)))
            .OrderByDescending(m => m.NetSavingsUsd).ThenBy(m => m.Model, StringComparer.Ordinal)
            .ToArray();
        var (savings, cost, premium) = (models.Values.Sum(m => m.Savings), models.Values.Sum(m => m.Cost), models.Values.Sum(m => m.Premium));
        return new CacheEconomics(models.Values.Sum(m => m.Read), models.Values.Sum(m => m.Write), Usd(savings), Usd(cost), Usd(premium), Usd(savings - premium), byModel, [.. unpriced]);
    }

    private static decimal Usd(decimal value) => Math.Round(value, 6, MidpointRounding.AwayFromZero);

    private static decimal Hours(decimal milliseconds) => Math.Round(milliseconds / 3_600_000m, 2, MidpointRounding.AwayFromZero);

    private static decimal? Pct(long part, long whole) => whole == 0 ? null : Math.Round(part * 100m / whole, 1, MidpointRounding.AwayFromZero);
}
