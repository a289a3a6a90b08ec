using AgentSpend.Core.Configuration;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Metrics;
using AgentSpend.Core.Workspaces;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Governance;

/// <summary>A budget's standing now: what its scope used in the current period, against the limit.</summary>
public sealed record BudgetStanding(decimal Used, decimal UsedPct, string? PeriodStart, string? PeriodEnd, string Status, int? ThresholdReached)
{
    public const string Ok = "ok";
    public const string Warning = "warning";
    public const string Exceeded = "exceeded";
}

/// <summary>
/// Measures budgets from aggregated usage: the day buckets (or slices, for a team, user, agent or model) of the
/// budget's current period. Calendar periods are the workspace's local days, weeks (from Monday) and months;
/// <c>total</c> is every day kept; <c>rolling_5h</c> is the current UTC hour and the four before it.
/// </summary>
public sealed class BudgetUsage(MetricsService metrics, IOptions<AgentSpendOptions> options, TimeProvider clock)
{
    public async Task<BudgetStanding> MeasureAsync(Workspace workspace, Budget budget, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (start, end) = Window(workspace, budget.Period, now);
        var filter = budget.Scope switch
        {
            BudgetScope.Team => MetricsFilter.For(Dimension.Team, budget.ScopeValue!),
            BudgetScope.User => MetricsFilter.For(Dimension.User, budget.ScopeValue!),
            BudgetScope.Agent => MetricsFilter.For(Dimension.Agent, budget.ScopeValue!),
            BudgetScope.Model => MetricsFilter.For(Dimension.Model, budget.ScopeValue!),
            _ => MetricsFilter.None,
        };
        var today = workspace.LocalDayOf(now);
        var firstDay = start is { } s ? workspace.LocalDayOf(s) : today.AddDays(-(options.Value.AggregateRetentionDays - 1));
        var days = await metrics.LoadAsync(workspace, new MetricsRange(firstDay, today), filter, cancellationToken).ConfigureAwait(false);
        UsageCounters counted;
        if (budget.Period == BudgetPeriod.Rolling5h)
        {
            var from = Aggregation.DailyBucket.HourKey(start!.Value);
            counted = DayUsage.Sum(DayUsage.SumHours(days).Where(h => string.CompareOrdinal(h.Key, from) >= 0).Select(h => h.Value));
        }
        else
        {
            counted = DayUsage.Sum(days.Select(d => d.Total));
        }

        var used = budget.Metric switch
        {
            BudgetMetric.CostUsd => Money.ToUsd(counted.CostNanos),
            BudgetMetric.Tokens => Concentration.TokensOf(counted),
            _ => counted.Events,
        };
        var pct = Math.Round(used * 100m / budget.Limit, 1, MidpointRounding.AwayFromZero);
        int? reached = budget.Thresholds.Where(t => used * 100m >= t * budget.Limit).Select(t => (int?)t).Max();
        var status = used >= budget.Limit ? BudgetStanding.Exceeded : reached is not null ? BudgetStanding.Warning : BudgetStanding.Ok;
        return new BudgetStanding(used, pct, start?.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            end?.ToString("O", System.Globalization.CultureInfo.InvariantCulture), status, reached);
    }

    /// <summary>The current period's bounds: null for all time (<c>total</c>).</summary>
    public static (DateTimeOffset? Start, DateTimeOffset? End) Window(Workspace workspace, BudgetPeriod period, DateTimeOffset now)
    {
        var today = workspace.LocalDayOf(now);
        switch (period)
        {
            case BudgetPeriod.Daily:
                return (workspace.StartOfDayUtc(today), workspace.StartOfDayUtc(today.AddDays(1)));
            case BudgetPeriod.Weekly:
                var monday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
                return (workspace.StartOfDayUtc(monday), workspace.StartOfDayUtc(monday.AddDays(7)));
            case BudgetPeriod.Monthly:
                var first = new DateOnly(today.Year, today.Month, 1);
                return (workspace.StartOfDayUtc(first), workspace.StartOfDayUtc(first.AddMonths(1)));
            case BudgetPeriod.Rolling5h:
                var hour = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, now.UtcDateTime.Day, now.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);
                return (hour.AddHours(-4), hour.AddHours(1));
            default:
                return (null, null);
        }
    }
}
