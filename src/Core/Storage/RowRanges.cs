using Azure.Data.Tables;

namespace AgentSpend.Core.Storage;

/// <summary>
/// Reads many rows of one partition by range queries (a page per 1,000 rows) instead of a point read each: a day of
/// a thousand bucket or slice rows costs two requests, not a thousand at once.
/// </summary>
public static class RowRanges
{
    /// <summary>
    /// The rows with these keys, in the same order; null where there is none. Keys are grouped by length, one range
    /// from the smallest to the largest key of each group: numbered keys of one width sort as their numbers do, so a
    /// range holds little else; whatever else it holds is skipped.
    /// </summary>
    public static async Task<TableEntity?[]> ReadAsync(ITableStore table, string partitionKey, IReadOnlyList<string> rowKeys, CancellationToken cancellationToken)
    {
        var found = new TableEntity?[rowKeys.Count];
        var positions = new Dictionary<string, int>(rowKeys.Count, StringComparer.Ordinal);
        for (var i = 0; i < rowKeys.Count; i++)
        {
            positions.TryAdd(rowKeys[i], i);
        }

        foreach (var sameLength in positions.Keys.GroupBy(k => k.Length))
        {
            var filter = TableClient.CreateQueryFilter(
                $"PartitionKey eq {partitionKey} and RowKey ge {sameLength.Min(StringComparer.Ordinal)} and RowKey le {sameLength.Max(StringComparer.Ordinal)}");
            await foreach (var row in table.QueryAsync(filter, pageSize: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (positions.TryGetValue(row.RowKey, out var position))
                {
                    found[position] = row;
                }
            }
        }

        for (var i = 0; i < rowKeys.Count; i++)
        {
            found[i] ??= found[positions[rowKeys[i]]];
        }

        return found;
    }
}
