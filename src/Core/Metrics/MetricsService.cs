using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;

namespace AgentSpend.Core.Metrics;

/// <summary>Answers metrics from daily buckets only; raw events are never scanned.</summary>
public sealed class MetricsService(IStorageProvider storage, DayVersions versions, StorageFanOut fanOut, TimeProvider clock) : IDisposable
{
    private const int ReadConcurrency = 16;

    // Bucket-only days are a few KB each; days with slices can be far larger, so fewer of them are kept.
    private readonly DayCache _days = new(capacity: 20_000, clock);
    private readonly DayCache _slicedDays = new(capacity: 400, clock);

    public void Dispose()
    {
        _days.Dispose();
        _slicedDays.Dispose();
    }

    /// <summary>Totals of the range, with the previous equal period's beside them.</summary>
    public async Task<Overview> OverviewAsync(Workspace workspace, MetricsRange range, MetricsFilter filter, CancellationToken cancellationToken)
    {
        var before = range.Previous();
        var loads = await Task.WhenAll(LoadAsync(workspace, range, filter, cancellationToken), LoadAsync(workspace, before, filter, cancellationToken)).ConfigureAwait(false);
        var (total, previous) = (Total(loads[0]), Total(loads[1]));
        int Active(Dimension dimension) => DayUsage.SumValues(loads[0], Grouping.Of(dimension)).Count(kv => kv.Key.Length > 0 && kv.Value.Events > 0);
        return new Overview(Workspace.FormatDay(range.From), Workspace.FormatDay(range.To), total)
        {
            Range = range.Name,
            Filters = filter.Describe(),
            ActiveAgents = Active(Dimension.Agent),
            ActiveUsers = Active(Dimension.User),
            Previous = new PeriodTotals(Workspace.FormatDay(before.From), Workspace.FormatDay(before.To), previous),
            ChangePct = Change.Between(total, previous),
        };
    }

    private static UsageCounters Total(IEnumerable<DayUsage> days) => DayUsage.Sum(days.Select(d => d.Total));

    /// <summary>
    /// Points over the range, zero-filled; with <paramref name="split"/>, one series per value of the top
    /// <paramref name="top"/> by cost over the whole range, and the rest summed as <c>other</c>.
    /// </summary>
    public async Task<Timeseries> TimeseriesAsync(
        Workspace workspace, MetricsRange range, Granularity granularity, MetricsFilter filter, CancellationToken cancellationToken, Grouping? split = null, int top = DefaultSplitTop)
    {
        var before = range.Previous();
        var loads = await Task.WhenAll(
            LoadAsync(workspace, range, filter, cancellationToken, needSlices: split is not null && (!split.InBuckets || granularity == Granularity.Hour)),
            LoadAsync(workspace, before, filter, cancellationToken)).ConfigureAwait(false);
        var days = loads[0];
        var (total, previous) = (Total(days), Total(loads[1]));
        var comparison = new PeriodTotals(Workspace.FormatDay(before.From), Workspace.FormatDay(before.To), previous);
        var from = Workspace.FormatDay(range.From);
        var to = Workspace.FormatDay(range.To);
        string[]? keys = null;
        if (split is not null)
        {
            keys = [.. Rank(DayUsage.SumValues(days, split), BreakdownSort.Cost).Take(top).Select(kv => kv.Key)];
        }

        string SeriesOf(string key) => keys!.Contains(key, StringComparer.Ordinal) ? key : OtherKey;

        if (granularity is Granularity.Day or Granularity.Week or Granularity.Month)
        {
            // Days, weeks and months are the workspace's local ones; a week or month cut by the range counts only its days inside it.
            DateOnly PeriodOf(DateOnly day) => granularity switch
            {
                Granularity.Week => day.AddDays(-(((int)day.DayOfWeek + 6) % 7)),
                Granularity.Month => new DateOnly(day.Year, day.Month, 1),
                _ => day,
            };
            var periods = days.GroupBy(d => PeriodOf(d.Day)).ToArray();
            var points = periods.Select(period => new TimeseriesPoint(Workspace.FormatDay(period.Key), null, Total(period))).ToArray();
            return new Timeseries(granularity.ToString().ToLowerInvariant(), from, to, points)
            {
                Previous = comparison,
                ChangePct = Change.Between(total, previous),
                Filters = filter.Describe(),
                Split = split?.Name,
                Series = keys is null ? null : Series(keys, periods.Select(period =>
                {
                    var byKey = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
                    foreach (var (key, counters) in period.SelectMany(d => d.Values(split!)))
                    {
                        DayUsage.Counters(byKey, SeriesOf(key)).Add(counters);
                    }

                    return (Date: (string?)Workspace.FormatDay(period.Key), Hour: (string?)null, byKey);
                })),
            };
        }

        var hours = DayUsage.SumHours(days);
        Dictionary<string, Dictionary<string, UsageCounters>>? hourKeys = null;
        if (split is not null)
        {
            hourKeys = new(StringComparer.Ordinal);
            foreach (var (hour, key, counters) in days.SelectMany(d => d.HourValues(split)))
            {
                if (!hourKeys.TryGetValue(hour, out var byKey))
                {
                    hourKeys[hour] = byKey = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
                }

                DayUsage.Counters(byKey, SeriesOf(key)).Add(counters);
            }
        }

        var hourStarts = HoursOf(workspace, range).ToArray();
        return new Timeseries("hour", from, to, hourStarts.Select(h => new TimeseriesPoint(null, FormatHour(h), hours.GetValueOrDefault(DailyBucket.HourKey(h)) ?? new UsageCounters())).ToArray())
        {
            Previous = comparison,
            ChangePct = Change.Between(total, previous),
            Filters = filter.Describe(),
            Split = split?.Name,
            Series = keys is null ? null : Series(keys, hourStarts.Select(h =>
                (Date: (string?)null, Hour: (string?)FormatHour(h), hourKeys!.GetValueOrDefault(DailyBucket.HourKey(h)) ?? new Dictionary<string, UsageCounters>()))),
        };
    }

    public const int DefaultSplitTop = 5;
    public const string OtherKey = "other";

    private static TimeseriesSeries[] Series(string[] keys, IEnumerable<(string? Date, string? Hour, Dictionary<string, UsageCounters> ByKey)> points)
    {
        var pointList = points.ToArray();
        var all = pointList.Any(p => p.ByKey.ContainsKey(OtherKey)) && !keys.Contains(OtherKey) ? [.. keys, OtherKey] : keys;
        return [.. all.Select(key => new TimeseriesSeries(key.Length == 0 ? null : key,
            [.. pointList.Select(p => new TimeseriesPoint(p.Date, p.Hour, p.ByKey.GetValueOrDefault(key) ?? new UsageCounters()))]))];
    }

    /// <summary>Every UTC hour that overlaps the range's local days.</summary>
    private static IEnumerable<DateTimeOffset> HoursOf(Workspace workspace, MetricsRange range)
    {
        var start = workspace.StartOfDayUtc(range.From);
        var end = workspace.StartOfDayUtc(range.To.AddDays(1));
        for (var hour = new DateTimeOffset(start.Year, start.Month, start.Day, start.Hour, 0, 0, TimeSpan.Zero); hour < end; hour = hour.AddHours(1))
        {
            yield return hour;
        }
    }

    private static string FormatHour(DateTimeOffset hour) => hour.ToString("yyyy-MM-dd'T'HH':00:00Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Largest first by <paramref name="sort"/>, then by events, then by key.</summary>
    internal static KeyValuePair<string, UsageCounters>[] Rank(Dictionary<string, UsageCounters> items, BreakdownSort sort)
    {
        Func<UsageCounters, long> measure = sort switch
        {
            BreakdownSort.Tokens => Concentration.TokensOf,
            BreakdownSort.Events => c => c.Events,
            _ => c => c.CostNanos,
        };
        return [.. items
            .OrderByDescending(kv => measure(kv.Value))
            .ThenByDescending(kv => kv.Value.Events)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)];
    }

    /// <summary>
    /// One item per value, largest first by <paramref name="sort"/> (then events, then key). With <paramref name="top"/>,
    /// the values past the first <paramref name="top"/> are summed into <see cref="Breakdown.Other"/>.
    /// </summary>
    public async Task<Breakdown> BreakdownAsync(
        Workspace workspace, MetricsRange range, Grouping grouping, MetricsFilter filter, CancellationToken cancellationToken, BreakdownSort sort = BreakdownSort.Cost, int? top = null)
    {
        var before = range.Previous();
        var loads = await Task.WhenAll(
            LoadAsync(workspace, range, filter, cancellationToken, needSlices: !grouping.InBuckets),
            LoadAsync(workspace, before, filter, cancellationToken, needSlices: !grouping.InBuckets)).ConfigureAwait(false);
        return Breakdown.Of(grouping.Name, range, filter, DayUsage.SumValues(loads[0], grouping), sort, top, DayUsage.SumValues(loads[1], grouping));
    }

    /// <summary>Shares of cost, tokens and calls per provider and per model, their HHI, and over-reliance warnings.</summary>
    public async Task<Concentration> ConcentrationAsync(Workspace workspace, MetricsRange range, MetricsFilter filter, int thresholdPct, CancellationToken cancellationToken)
    {
        var days = await LoadAsync(workspace, range, filter, cancellationToken).ConfigureAwait(false);
        var providers = DayUsage.SumValues(days, Grouping.Of(Dimension.Provider));
        return new Concentration(
            range.Name, Workspace.FormatDay(range.From), Workspace.FormatDay(range.To), thresholdPct, Concentration.MinEventsForWarning,
            Concentration.Of(providers), Concentration.Of(DayUsage.SumValues(days, Grouping.Of(Dimension.Model))), Concentration.Warn(providers, thresholdPct))
        {
            Filters = filter.Describe(),
        };
    }

    /// <summary>The last 24 UTC hours hour by hour, the current hourly rate and the projected month-end spend.</summary>
    public async Task<BurnRate> BurnRateAsync(Workspace workspace, DateTimeOffset now, MetricsFilter filter, CancellationToken cancellationToken)
    {
        var currentHour = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, now.UtcDateTime.Day, now.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);
        var firstHour = currentHour.AddHours(-23);
        var today = workspace.LocalDayOf(now);
        var monthStart = new DateOnly(today.Year, today.Month, 1);
        // The 24 UTC hours lie within the local days around them; the month to date is its own range.
        var firstDay = workspace.LocalDayOf(firstHour);
        var hourDays = new MetricsRange(firstDay < monthStart ? firstDay : monthStart, today);
        var days = await LoadAsync(workspace, hourDays, filter, cancellationToken).ConfigureAwait(false);

        var byHour = DayUsage.SumHours(days);
        var monthToDate = Total(days.Where(d => d.Day >= monthStart));

        var hours = Enumerable.Range(0, 24).Select(i => firstHour.AddHours(i)).Select(h =>
        {
            var c = byHour.GetValueOrDefault(DailyBucket.HourKey(h)) ?? new UsageCounters();
            return new BurnRateHour(FormatHour(h), Money.ToUsd(c.CostNanos), c.Events, Concentration.TokensOf(c));
        }).ToArray();
        var windowHours = (decimal)(now - currentHour.AddHours(-1)).TotalHours;
        var recent = hours[^1].CostUsd + hours[^2].CostUsd;
        var elapsedDays = Math.Round((decimal)(now - workspace.StartOfDayUtc(monthStart)).TotalDays, 6, MidpointRounding.AwayFromZero);
        var monthDays = DateTime.DaysInMonth(monthStart.Year, monthStart.Month);
        var mtd = Money.ToUsd(monthToDate.CostNanos);
        return new BurnRate(
            now.ToString("O", System.Globalization.CultureInfo.InvariantCulture), hours, hours.Sum(h => h.CostUsd),
            Math.Round(recent / windowHours, 6, MidpointRounding.AwayFromZero),
            Workspace.FormatDay(monthStart), mtd, elapsedDays, monthDays, BurnRate.Project(mtd, elapsedDays, monthDays))
        {
            Filters = filter.Describe(),
        };
    }

    /// <summary>
    /// Reads the range's days. Unfiltered questions need only the bucket rows; a filter, or a grouping the
    /// buckets do not keep (<paramref name="needSlices"/>), needs the days' slices as well.
    /// </summary>
    internal async Task<IReadOnlyList<DayUsage>> LoadAsync(Workspace workspace, MetricsRange range, MetricsFilter filter, CancellationToken cancellationToken, bool needSlices = false)
    {
        var table = storage.GetTable(StorageNames.UsageTable);
        var withSlices = needSlices || !filter.IsEmpty;
        var cache = withSlices ? _slicedDays : _days;
        var tokens = await versions.ReadAsync(workspace.Id, range.From, range.To, cancellationToken).ConfigureAwait(false);
        using var gate = new SemaphoreSlim(ReadConcurrency);
        var days = await Task.WhenAll(range.EachDay().Select(async day =>
        {
            var buckets = new List<DailyBucket>(UsageTableKeys.ShardsPerDay);
            for (var shard = 0; shard < UsageTableKeys.ShardsPerDay; shard++)
            {
                var partition = UsageTableKeys.Partition(workspace.Id, Workspace.FormatDay(day), shard);
                if (tokens[day] is { Token: null, Leased: false })
                {
                    // Every writer of buckets (aggregation, re-pricing) stamps the day before it writes, so a day never
                    // stamped has none: no read. A year of mostly empty days was 400 reads on a cold agents list.
                    buckets.Add(DailyBucket.Empty(partition));
                    continue;
                }

                if (cache.Find(partition, withSlices, tokens[day]) is { } kept)
                {
                    buckets.Add(kept);
                    continue;
                }

                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    var readAt = clock.GetUtcNow();
                    var bucket = await fanOut.RunAsync(token => DailyBucket.LoadAsync(table, partition, token, withSlices), cancellationToken).ConfigureAwait(false);
                    cache.Keep(partition, withSlices, tokens[day], bucket, readAt);
                    buckets.Add(bucket);
                }
                finally
                {
                    gate.Release();
                }
            }

            return new DayUsage(day, buckets, filter.IsEmpty ? null : filter);
        })).ConfigureAwait(false);
        return days;
    }
}
