using AgentSpend.Core.Storage;
using Azure.Data.Tables;

namespace AgentSpend.Core.Aggregation;

/// <summary>
/// The identity hashes of every event counted in one workspace-day partition, as far as its pages have been read
/// (<see cref="Through"/>). An event is counted if and only if its hash is in a stored page, so a writer that holds
/// this set as of row 0's ETag knows exactly which pending events are resends, without a read per event.
/// </summary>
public sealed class CountedEventSet
{
    private readonly HashSet<UInt128> _hashes;

    private CountedEventSet(HashSet<UInt128> hashes, long through)
    {
        _hashes = hashes;
        Through = through;
    }

    /// <summary>The last page whose events this set holds (0: none).</summary>
    public long Through { get; private set; }

    public int Count => _hashes.Count;

    public static CountedEventSet Empty() => new([], 0);

    public bool Contains(UInt128 hash) => _hashes.Contains(hash);

    /// <summary>Adopts the events of pages this writer just committed, through page <paramref name="through"/>.</summary>
    public void Add(IEnumerable<UInt128> hashes, long through)
    {
        _hashes.UnionWith(hashes);
        Through = Math.Max(Through, through);
    }

    /// <summary>
    /// Reads every event row of the partition: pages and the one-event rows of versions before pages. Read after the
    /// day's row 0, so that it holds at least every page that row names.
    /// </summary>
    public static async Task<CountedEventSet> LoadAsync(ITableStore table, string partitionKey, CancellationToken cancellationToken)
    {
        var set = Empty();
        await set.ReadAsync(table, partitionKey, UsageTableKeys.EventRowPrefix, cancellationToken).ConfigureAwait(false);
        return set;
    }

    /// <summary>Reads the pages written after <see cref="Through"/> (by other writers): one request while they are few.</summary>
    public Task CatchUpAsync(ITableStore table, string partitionKey, CancellationToken cancellationToken) =>
        ReadAsync(table, partitionKey, EventPages.RowKey(partitionKey, Through + 1), cancellationToken);

    private async Task ReadAsync(ITableStore table, string partitionKey, string fromRowKey, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey} and RowKey ge {fromRowKey} and RowKey lt {EventPages.RangeEnd}");
        await foreach (var row in table.QueryAsync(filter, ["RowKey", EventPages.HashesProperty], 1000, cancellationToken).ConfigureAwait(false))
        {
            _hashes.UnionWith(EventPages.Hashes(row));
            if (EventPages.IsPage(row.RowKey))
            {
                Through = Math.Max(Through, EventPages.PageOf(row.RowKey));
            }
        }
    }
}
