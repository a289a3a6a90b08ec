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
/// Measures budgets from aggregated usage: the day buckets of the budget's current period (their per-value
/// counters for a team, user, agent or model; the slices' hours for those scopes' rolling five hours). Calendar periods are the workspace's local days, weeks (from Monday) and months;
/// <c>total</c> is every day kept; <c>rolling_5h</c> is the current UTC hour and the four before it.
/// </summary>
public sealed class BudgetUsage(MetricsService metrics, Aggregation.DayVersions versions, IOptions<AgentSpendOptions> options, TimeProvider clock)
{
    /// <summary>
    /// What the standings of these budgets depend on, as one string: the budgets as changed last, the current local day
    /// and UTC hour (which place every window), and the version of every day the windows cover. Equal fingerprints mean
    /// equal standings; null when a day is being written and no fingerprint can be trusted.
    /// </summary>
    public async Task<string?> FingerprintAsync(Workspace workspace, IReadOnlyList<Budget> budgets, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var today = workspace.LocalDayOf(now);
        var from = budgets.Count == 0 ? today : budgets.Select(b => Window(workspace, b.Period, now).Start is { } s ? workspace.LocalDayOf(s) : today.AddDays(-(options.Value.AggregateRetentionDays - 1))).Min();
        var days = await versions.ReadAsync(workspace.Id, from, today, cancellationToken).ConfigureAwait(false);
        if (days.Values.Any(d => d.Leased))
        {
            return null;
        }

        var fingerprint = new System.Text.StringBuilder()
            .Append(Workspace.FormatDay(today)).Append('|').Append(Aggregation.DailyBucket.HourKey(now)).Append('|').Append(options.Value.AggregateRetentionDays);
        foreach (var budget in budgets)
        {
            fingerprint.Append('|').Append(budget.Id).Append('@').Append(budget.UpdatedAt.UtcTicks);
        }

        foreach (var (day, version) in days.OrderBy(d => d.Key))
        {
            fingerprint.Append('|').Append(day.DayNumber).Append('=').Append(version.Token);
        }

        return fingerprint.ToString();
    }

    public async Task<BudgetStanding> MeasureAsync(Workspace workspace, Budget budget, CancellationToken cancellationToken) =>
        (await MeasureAllAsync(workspace, [budget], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// Measures many budgets with one read per period: a day's bucket already holds every team's, user's, agent's
    /// and model's counters, so only <c>rolling_5h</c> budgets of a scope need the slices (their hours).
    /// </summary>
    public async Task<BudgetStanding[]> MeasureAllAsync(Workspace workspace, IReadOnlyList<Budget> budgets, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var today = workspace.LocalDayOf(now);
        var standings = new BudgetStanding[budgets.Count];
        foreach (var period in budgets.Select(b => b.Period).Distinct())
        {
            var (start, end) = Window(workspace, period, now);
            var firstDay = start is { } s ? workspace.LocalDayOf(s) : today.AddDays(-(options.Value.AggregateRetentionDays - 1));
            var members = budgets.Select((b, i) => (Budget: b, Index: i)).Where(x => x.Budget.Period == period).ToArray();
            var rolling = period == BudgetPeriod.Rolling5h;
            var days = await metrics.LoadAsync(workspace, new MetricsRange(firstDay, today), MetricsFilter.None, cancellationToken,
                needSlices: rolling && members.Any(m => m.Budget.Scope != BudgetScope.Workspace)).ConfigureAwait(false);
            var fromHour = start is { } windowStart ? Aggregation.DailyBucket.HourKey(windowStart) : null;
            var byDimension = new Dictionary<Dimension, Dictionary<string, UsageCounters>>();
            var inWindowByDimension = new Dictionary<Dimension, Dictionary<string, UsageCounters>>();
            foreach (var (budget, index) in members)
            {
                UsageCounters counted;
                if (budget.Scope == BudgetScope.Workspace)
                {
                    counted = rolling
                        ? DayUsage.Sum(DayUsage.SumHours(days).Where(h => string.CompareOrdinal(h.Key, fromHour) >= 0).Select(h => h.Value))
                        : DayUsage.Sum(days.Select(d => d.Total));
                }
                else if (rolling)
                {
                    // One pass over the window's slices per dimension, however many budgets of that scope there are.
                    var dimension = DimensionOf(budget.Scope);
                    if (!inWindowByDimension.TryGetValue(dimension, out var values))
                    {
                        inWindowByDimension[dimension] = values = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
                        foreach (var (slice, sliceCounters) in days.SelectMany(d => d.Slices()))
                        {
                            if (string.CompareOrdinal(slice.Hour, fromHour) >= 0)
                            {
                                DayUsage.Counters(values, slice.ValueOf(dimension)).Add(sliceCounters);
                            }
                        }
                    }

                    counted = values.GetValueOrDefault(budget.ScopeValue!) ?? new UsageCounters();
                }
                else
                {
                    var dimension = DimensionOf(budget.Scope);
                    if (!byDimension.TryGetValue(dimension, out var values))
                    {
                        byDimension[dimension] = values = DayUsage.SumValues(days, Grouping.Of(dimension));
                    }

                    counted = values.GetValueOrDefault(budget.ScopeValue!) ?? new UsageCounters();
                }

                standings[index] = Stand(budget, counted, start, end);
            }
        }

        return standings;
    }

    private static Dimension DimensionOf(BudgetScope scope) => scope switch
    {
        BudgetScope.Team => Dimension.Team,
        BudgetScope.User => Dimension.User,
        BudgetScope.Agent => Dimension.Agent,
        BudgetScope.Key => Dimension.Key,
        _ => Dimension.Model,
    };

    /// <summary>What a reset stores as the period it applies to: the period's start, or <c>total</c>.</summary>
    public static string PeriodKey(BudgetStanding standing) => standing.PeriodStart ?? "total";

    private static BudgetStanding Stand(Budget budget, UsageCounters counted, DateTimeOffset? start, DateTimeOffset? end)
    {
        var measured = budget.Metric switch
        {
            BudgetMetric.CostUsd => Money.ToUsd(counted.CostNanos),
            BudgetMetric.Tokens => Concentration.TokensOf(counted),
            _ => counted.Events,
        };
        var periodKey = start?.ToString("O", System.Globalization.CultureInfo.InvariantCulture) ?? "total";
        var used = budget.ResetBaseline is { } baseline && budget.ResetPeriodStart == periodKey ? Math.Max(0, measured - baseline) : measured;
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
