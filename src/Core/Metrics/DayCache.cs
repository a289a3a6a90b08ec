using System.Collections.Concurrent;
using AgentSpend.Core.Aggregation;

namespace AgentSpend.Core.Metrics;

/// <summary>
/// Days' buckets this process has read, each with the <see cref="DayVersions"/> token it was read under. A
/// day is served from here only while its token is unchanged, so answers stay exactly those of the stored
/// buckets; a day a writer holds a lease on is never served from here. Entries also expire after
/// <see cref="MaxAge"/>, a second safety net beside the leases.
/// </summary>
internal sealed class DayCache(int capacity, TimeProvider clock)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<(string Partition, bool WithSlices), Entry> _entries = new();

    public DailyBucket? Find(string partition, bool withSlices, DayVersion version)
    {
        if (version.Leased)
        {
            return null;
        }

        var token = version.Token;
        if (_entries.TryGetValue((partition, withSlices), out var entry)
            && string.Equals(entry.Token, token, StringComparison.Ordinal)
            && clock.GetUtcNow() - entry.ReadAt < MaxAge)
        {
            return entry.Bucket;
        }

        // A bucket read with its slices answers unfiltered questions as well.
        return withSlices ? null : Find(partition, withSlices: true, version);
    }

    public void Keep(string partition, bool withSlices, DayVersion version, DailyBucket bucket, DateTimeOffset readAt)
    {
        if (version.Leased)
        {
            return;
        }

        if (_entries.Count >= capacity)
        {
            // Rare: far more days than any dashboard looks at. Starting afresh is simpler than tracking use.
            _entries.Clear();
        }

        _entries[(partition, withSlices)] = new Entry(bucket, version.Token, readAt);
    }

    private sealed record Entry(DailyBucket Bucket, string? Token, DateTimeOffset ReadAt);
}
