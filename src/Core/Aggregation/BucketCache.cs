using System.Collections.Concurrent;

namespace AgentSpend.Core.Aggregation;

/// <summary>
/// Daily buckets this process wrote last, so that the next pass over a day need not read it back.
/// A bucket is taken out while a writer uses it, so no two writers share one. A stale bucket is
/// harmless: its ETags no longer match, the transaction fails with 412 and the writer re-reads.
/// </summary>
internal sealed class BucketCache(int capacity)
{
    private readonly ConcurrentDictionary<string, DailyBucket> _buckets = new(StringComparer.Ordinal);

    public DailyBucket? Take(string partitionKey) => _buckets.TryRemove(partitionKey, out var bucket) ? bucket : null;

    public void Return(DailyBucket bucket)
    {
        if (_buckets.Count >= capacity)
        {
            // Rarely reached (capacity is far above the days one workspace writes at once): start afresh.
            _buckets.Clear();
        }

        _buckets[bucket.PartitionKey] = bucket;
    }
}
