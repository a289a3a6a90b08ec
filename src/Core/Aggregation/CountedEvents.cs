using AgentSpend.Core.Storage;
using Azure.Data.Tables;

namespace AgentSpend.Core.Aggregation;

/// <summary>Finds which of a day's pending events are counted already (their raw rows exist).</summary>
public static class CountedEvents
{
    /// <summary>
    /// The event row keys among <paramref name="rowKeys"/> that are already stored in the partition, in as few requests as the day allows:
    /// a scan of the day's event row keys (1,000 a page) when the day is small next to the pending set,
    /// otherwise queries of up to 14 row keys each (Azure allows 15 comparisons in a filter).
    /// </summary>
    public static async Task<HashSet<string>> FindAsync(
        ITableStore table, string partitionKey, IReadOnlyCollection<string> rowKeys, long eventsInDay, CancellationToken cancellationToken)
    {
        var wanted = rowKeys.ToHashSet(StringComparer.Ordinal);
        var found = new HashSet<string>(StringComparer.Ordinal);
        if ((eventsInDay / 1000) + 1 <= (wanted.Count + TableStoreExtensions.RowKeysPerQuery - 1) / TableStoreExtensions.RowKeysPerQuery)
        {
            var filter = TableClient.CreateQueryFilter(
                $"PartitionKey eq {partitionKey} and RowKey ge {UsageTableKeys.EventRowPrefix} and RowKey lt {UsageTableKeys.EventRowPrefix[..^1] + "}"}");
            await foreach (var row in table.QueryAsync(filter, ["RowKey"], 1000, cancellationToken).ConfigureAwait(false))
            {
                if (wanted.Contains(row.RowKey))
                {
                    found.Add(row.RowKey);
                }
            }

            return found;
        }

        foreach (var row in await table.GetManyAsync(partitionKey, wanted, ["RowKey"], cancellationToken).ConfigureAwait(false))
        {
            found.Add(row.RowKey);
        }

        return found;
    }
}
