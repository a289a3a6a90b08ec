using System.Collections.Concurrent;
using AgentSpend.Core.Aggregation;
using Microsoft.Extensions.Caching.Memory;

namespace AgentSpend.Core.Metrics;

/// <summary>
/// Days' buckets this process has read, each with the <see cref="DayVersions"/> token it was read under. A
/// day is served from here only while its token is unchanged, so answers stay exactly those of the stored
/// buckets; a day a writer holds a lease on is never served from here. Entries also expire after
/// <see cref="MaxAge"/>, a second safety net beside the leases.
/// <para>
/// Shared by every workspace. When it is full, the least recently used days make room (a tenth at a time, never
/// all at once), and a workspace that holds half of it adds no more: one tenant's long filtered query cannot push
/// every other tenant's days out.
/// </para>
/// </summary>
internal sealed class DayCache(int capacity, TimeProvider clock) : IDisposable
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    private readonly MemoryCache _entries = new(new MemoryCacheOptions { SizeLimit = capacity, CompactionPercentage = 0.1 });
    private readonly ConcurrentDictionary<string, int> _held = new(StringComparer.Ordinal);

    /// <summary>How many days each workspace holds now.</summary>
    public int HeldBy(string workspaceId) => _held.GetValueOrDefault(workspaceId);

    public DailyBucket? Find(string partition, bool withSlices, DayVersion version)
    {
        if (version.Leased)
        {
            return null;
        }

        var token = version.Token;
        if (_entries.TryGetValue((partition, withSlices), out Entry? entry) && entry is not null
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

        var workspace = partition[..Math.Max(0, partition.IndexOf('|'))];
        if (_entries.Count >= capacity && HeldBy(workspace) >= Math.Max(1, capacity / 2) && !_entries.TryGetValue((partition, withSlices), out _))
        {
            return;
        }

        _held.AddOrUpdate(workspace, 1, (_, n) => n + 1);
        var options = new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = MaxAge };
        options.RegisterPostEvictionCallback(static (_, _, _, state) =>
        {
            var (held, key) = ((ConcurrentDictionary<string, int>, string))state!;
            held.AddOrUpdate(key, 0, (_, n) => Math.Max(0, n - 1));
        }, (_held, workspace));
        _entries.Set((partition, withSlices), new Entry(bucket, version.Token, readAt), options);
    }

    public void Dispose() => _entries.Dispose();

    private sealed record Entry(DailyBucket Bucket, string? Token, DateTimeOffset ReadAt);
}
