using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;

namespace AgentSpend.Core.Metrics;

/// <summary>
/// One local day's usage as a query sees it: the day's whole buckets when nothing is filtered, or the
/// day's slices that pass the filter. Both give the same totals, UTC hours and values per grouping.
/// </summary>
internal sealed class DayUsage
{
    private readonly IReadOnlyList<DailyBucket> _buckets;
    private readonly List<KeyValuePair<UsageSlice, UsageCounters>>? _slices;

    public DayUsage(DateOnly day, IReadOnlyList<DailyBucket> buckets, MetricsFilter? filter)
    {
        Day = day;
        _buckets = buckets;
        Total = new UsageCounters();
        Hours = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
        if (filter is null)
        {
            foreach (var bucket in buckets)
            {
                Total.Add(bucket.Total);
                foreach (var (hour, counters) in bucket.Hours)
                {
                    Counters(Hours, hour).Add(counters);
                }
            }

            return;
        }

        _slices = [.. buckets.SelectMany(b => b.Slices).Where(s => filter.Matches(s.Key))];
        foreach (var (slice, counters) in _slices)
        {
            Total.Add(counters);
            Counters(Hours, slice.Hour).Add(counters);
        }
    }

    public DateOnly Day { get; }

    public UsageCounters Total { get; }

    /// <summary>Counters per UTC hour key (<see cref="DailyBucket.HourKey"/>) within this local day.</summary>
    public Dictionary<string, UsageCounters> Hours { get; }

    /// <summary>Counters per value of the grouping; empty key for events that did not name one.</summary>
    public Dictionary<string, UsageCounters> Values(Grouping grouping)
    {
        var values = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
        if (_slices is null && grouping.Dimension is { } dimension)
        {
            foreach (var (key, counters) in _buckets.SelectMany(b => b.Values(dimension)))
            {
                Counters(values, key).Add(counters);
            }

            return values;
        }

        foreach (var (slice, counters) in Slices())
        {
            Counters(values, grouping.ValueOf(slice)).Add(counters);
        }

        return values;
    }

    /// <summary>Counters per UTC hour and value of the grouping (slices only).</summary>
    public IEnumerable<(string Hour, string Key, UsageCounters Counters)> HourValues(Grouping grouping) =>
        Slices().Select(s => (s.Key.Hour, grouping.ValueOf(s.Key), s.Value));

    /// <summary>The day's slices that pass the filter (all of them unfiltered); needs a day read with its slices.</summary>
    public IEnumerable<KeyValuePair<UsageSlice, UsageCounters>> Slices() => _slices ?? _buckets.SelectMany(b => b.Slices);

    internal static UsageCounters Counters(Dictionary<string, UsageCounters> map, string key) =>
        map.TryGetValue(key, out var counters) ? counters : map[key] = new UsageCounters();

    internal static UsageCounters Sum(IEnumerable<UsageCounters> counters)
    {
        var sum = new UsageCounters();
        foreach (var c in counters)
        {
            sum.Add(c);
        }

        return sum;
    }

    internal static Dictionary<string, UsageCounters> SumValues(IEnumerable<DayUsage> days, Grouping grouping)
    {
        var sums = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
        foreach (var day in days)
        {
            foreach (var (key, counters) in day.Values(grouping))
            {
                Counters(sums, key).Add(counters);
            }
        }

        return sums;
    }

    /// <summary>Hours that straddle two local days (half-hour offsets) are the sum of their parts.</summary>
    internal static Dictionary<string, UsageCounters> SumHours(IEnumerable<DayUsage> days)
    {
        var hours = new Dictionary<string, UsageCounters>(StringComparer.Ordinal);
        foreach (var day in days)
        {
            foreach (var (hour, counters) in day.Hours)
            {
                Counters(hours, hour).Add(counters);
            }
        }

        return hours;
    }
}
