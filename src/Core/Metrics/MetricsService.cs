using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Metrics;

/// <summary>Answers metrics from daily buckets only; raw events are never scanned.</summary>
public sealed class MetricsService(IStorageProvider storage)
{
    private const int ReadConcurrency = 16;

    /// <summary>Totals of the range, with the previous equal period's beside them.</summary>
    public async Task<Overview> OverviewAsync(Workspace workspace, MetricsRange range, CancellationToken cancellationToken)
    {
        var before = range.Previous();
        var loads = await Task.WhenAll(LoadAsync(workspace, range, cancellationToken), LoadAsync(workspace, before, cancellationToken)).ConfigureAwait(false);
        var buckets = loads[0].SelectMany(d => d.Buckets).ToArray();
        var (total, previous) = (Total(buckets), Total(loads[1].SelectMany(d => d.Buckets)));
        int Active(Dimension dimension) => Sum(buckets, dimension).Count(kv => kv.Key.Length > 0 && kv.Value.Events > 0);
        return new Overview(Workspace.FormatDay(range.From), Workspace.FormatDay(range.To), total)
        {
            Range = range.Name,
            ActiveAgents = Active(Dimension.Agent),
            ActiveUsers = Active(Dimension.User),
            Previous = new PeriodTotals(Workspace.FormatDay(before.From), Workspace.FormatDay(before.To), previous),
            ChangePct = Change.Between(total, previous),
        };
    }

    private static UsageCounters Total(IEnumerable<DailyBucket> buckets)
    {
        var total = new UsageCounters();
        foreach (var bucket in buckets)
        {
            total.Add(bucket.Total);
        }

        return total;
    }

    /// <summary>
    /// Buckets keep UTC hours within each local day; an hour that straddles two local days (half-hour
    /// offsets) is the sum of its parts.
    /// </summary>
    private static Dictionary<string, UsageCounters> SumHours(IEnumerable<DailyBucket> buckets)
    {
        var hours = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
        foreach (var bucket in buckets)
        {
            foreach (var (hour, counters) in bucket.Hours)
            {
                if (!hours.TryGetValue(hour, out var sum))
                {
                    hours[hour] = sum = new UsageCounters();
                }

                sum.Add(counters);
            }
        }

        return hours;
    }

    public async Task<Timeseries> TimeseriesAsync(Workspace workspace, MetricsRange range, Granularity granularity, CancellationToken cancellationToken)
    {
        var days = await LoadAsync(workspace, range, cancellationToken).ConfigureAwait(false);
        var from = Workspace.FormatDay(range.From);
        var to = Workspace.FormatDay(range.To);
        if (granularity is Granularity.Day or Granularity.Week or Granularity.Month)
        {
            // Days, weeks and months are the workspace's local ones; a week or month cut by the range counts only its days inside it.
            DateOnly PeriodOf(DateOnly day) => granularity switch
            {
                Granularity.Week => day.AddDays(-(((int)day.DayOfWeek + 6) % 7)),
                Granularity.Month => new DateOnly(day.Year, day.Month, 1),
                _ => day,
            };
            var periods = days
                .GroupBy(d => PeriodOf(d.Day))
                .Select(period => new TimeseriesPoint(Workspace.FormatDay(period.Key), null, Total(period.SelectMany(d => d.Buckets))))
                .ToArray();
            return new Timeseries(granularity.ToString().ToLowerInvariant(), from, to, periods);
        }

        var hours = SumHours(days.SelectMany(d => d.Buckets));

        var start = workspace.StartOfDayUtc(range.From);
        var end = workspace.StartOfDayUtc(range.To.AddDays(1));
        var points = new List<TimeseriesPoint>();
        for (var hour = new DateTimeOffset(start.Year, start.Month, start.Day, start.Hour, 0, 0, TimeSpan.Zero); hour < end; hour = hour.AddHours(1))
        {
            var key = DailyBucket.HourKey(hour);
            points.Add(new TimeseriesPoint(null, hour.ToString("yyyy-MM-dd'T'HH':00:00Z'", System.Globalization.CultureInfo.InvariantCulture), hours.GetValueOrDefault(key) ?? new UsageCounters()));
        }

        return new Timeseries("hour", from, to, points);
    }

    /// <summary>
    /// One item per value, largest first by <paramref name="sort"/> (then events, then key). With <paramref name="top"/>,
    /// the values past the first <paramref name="top"/> are summed into <see cref="Breakdown.Other"/>.
    /// </summary>
    public async Task<Breakdown> BreakdownAsync(Workspace workspace, MetricsRange range, Dimension dimension, CancellationToken cancellationToken, BreakdownSort sort = BreakdownSort.Cost, int? top = null)
    {
        var items = Sum((await LoadAsync(workspace, range, cancellationToken).ConfigureAwait(false)).SelectMany(d => d.Buckets), dimension);

        Func<UsageCounters, long> measure = sort switch
        {
            BreakdownSort.Tokens => Concentration.TokensOf,
            BreakdownSort.Events => c => c.Events,
            _ => c => c.CostNanos,
        };
        var sorted = items
            .OrderByDescending(kv => measure(kv.Value))
            .ThenByDescending(kv => kv.Value.Events)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .ToArray();
        var shown = top is { } n ? sorted.Take(n).ToArray() : sorted;
        BreakdownItem? other = null;
        if (shown.Length < sorted.Length)
        {
            var rest = new UsageCounters();
            foreach (var (_, counters) in sorted.Skip(shown.Length))
            {
                rest.Add(counters);
            }

            other = new BreakdownItem("other", rest);
        }

        return new Breakdown(dimension.Name(), Workspace.FormatDay(range.From), Workspace.FormatDay(range.To),
            shown.Select(kv => new BreakdownItem(kv.Key.Length == 0 ? null : kv.Key, kv.Value)).ToArray())
        {
            Sort = sort.ToString().ToLowerInvariant(),
            Other = other,
            OtherValues = sorted.Length - shown.Length,
        };
    }

    /// <summary>Shares of cost, tokens and calls per provider and per model, their HHI, and over-reliance warnings.</summary>
    public async Task<Concentration> ConcentrationAsync(Workspace workspace, MetricsRange range, int thresholdPct, CancellationToken cancellationToken)
    {
        var buckets = (await LoadAsync(workspace, range, cancellationToken).ConfigureAwait(false)).SelectMany(d => d.Buckets).ToArray();
        var providers = Sum(buckets, Dimension.Provider);
        return new Concentration(
            range.Name, Workspace.FormatDay(range.From), Workspace.FormatDay(range.To), thresholdPct, Concentration.MinEventsForWarning,
            Concentration.Of(providers), Concentration.Of(Sum(buckets, Dimension.Model)), Concentration.Warn(providers, thresholdPct));
    }

    /// <summary>The last 24 UTC hours hour by hour, the current hourly rate and the projected month-end spend.</summary>
    public async Task<BurnRate> BurnRateAsync(Workspace workspace, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var currentHour = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, now.UtcDateTime.Day, now.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);
        var firstHour = currentHour.AddHours(-23);
        var today = workspace.LocalDayOf(now);
        var monthStart = new DateOnly(today.Year, today.Month, 1);
        // The 24 UTC hours lie within the local days around them; the month to date is its own range.
        var firstDay = workspace.LocalDayOf(firstHour);
        var hourDays = new MetricsRange(firstDay < monthStart ? firstDay : monthStart, today);
        var days = await LoadAsync(workspace, hourDays, cancellationToken).ConfigureAwait(false);

        var byHour = SumHours(days.SelectMany(d => d.Buckets));
        var monthToDate = Total(days.Where(d => d.Day >= monthStart).SelectMany(d => d.Buckets));

        var hours = Enumerable.Range(0, 24).Select(i => firstHour.AddHours(i)).Select(h =>
        {
            var c = byHour.GetValueOrDefault(DailyBucket.HourKey(h)) ?? new UsageCounters();
            return new BurnRateHour(h.ToString("yyyy-MM-dd'T'HH':00:00Z'", System.Globalization.CultureInfo.InvariantCulture), Money.ToUsd(c.CostNanos), c.Events, Concentration.TokensOf(c));
        }).ToArray();
        var windowHours = (decimal)(now - currentHour.AddHours(-1)).TotalHours;
        var recent = hours[^1].CostUsd + hours[^2].CostUsd;
        var elapsedDays = Math.Round((decimal)(now - workspace.StartOfDayUtc(monthStart)).TotalDays, 6, MidpointRounding.AwayFromZero);
        var monthDays = DateTime.DaysInMonth(monthStart.Year, monthStart.Month);
        var mtd = Money.ToUsd(monthToDate.CostNanos);
        return new BurnRate(
            now.ToString("O", System.Globalization.CultureInfo.InvariantCulture), hours, hours.Sum(h => h.CostUsd),
            Math.Round(recent / windowHours, 6, MidpointRounding.AwayFromZero),
            Workspace.FormatDay(monthStart), mtd, elapsedDays, monthDays, BurnRate.Project(mtd, elapsedDays, monthDays));
    }

    private static Dictionary<string, UsageCounters> Sum(IEnumerable<DailyBucket> buckets, Dimension dimension)
    {
        var sums = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
        foreach (var bucket in buckets)
        {
            foreach (var (key, counters) in bucket.Values(dimension))
            {
                if (!sums.TryGetValue(key, out var sum))
                {
                    sums[key] = sum = new UsageCounters();
                }

                sum.Add(counters);
            }
        }

        return sums;
    }

    private async Task<IReadOnlyList<(DateOnly Day, IReadOnlyList<DailyBucket> Buckets)>> LoadAsync(Workspace workspace, MetricsRange range, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.UsageTable);
        using var gate = new SemaphoreSlim(ReadConcurrency);
        var days = await Task.WhenAll(range.EachDay().Select(async day =>
        {
            var buckets = new List<DailyBucket>(UsageTableKeys.ShardsPerDay);
            for (var shard = 0; shard < UsageTableKeys.ShardsPerDay; shard++)
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    var partition = UsageTableKeys.Partition(workspace.Id, Workspace.FormatDay(day), shard);
                    buckets.Add(await DailyBucket.LoadAsync(table, partition, cancellationToken).ConfigureAwait(false));
                }
                finally
                {
                    gate.Release();
                }
            }

            return (day, (IReadOnlyList<DailyBucket>)buckets);
        })).ConfigureAwait(false);
        return days;
    }
}
