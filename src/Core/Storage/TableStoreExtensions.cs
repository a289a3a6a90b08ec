using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Storage;

public static class TableStoreExtensions
{
    private const int TransactionSize = 100;

    /// <summary>Row keys one query names: Azure allows 15 comparisons in a filter, one of them the partition's.</summary>
    public const int RowKeysPerQuery = 14;

    /// <summary>
    /// The stored rows of one partition among <paramref name="rowKeys"/>, read <see cref="RowKeysPerQuery"/> to a query,
    /// 8 queries at a time: a bounded number of requests where point reads would take one a row.
    /// </summary>
    public static async Task<List<TableEntity>> GetManyAsync(
        this ITableStore table, string partitionKey, IEnumerable<string> rowKeys, IEnumerable<string>? properties, CancellationToken cancellationToken)
    {
        var found = new List<TableEntity>();
        var select = properties?.ToArray();
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(rowKeys.Distinct(StringComparer.Ordinal).Chunk(RowKeysPerQuery).Select(async keys =>
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}") + " and (" +
                string.Join(" or ", keys.Select(k => TableClient.CreateQueryFilter($"RowKey eq {k}"))) + ")";
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await foreach (var row in table.QueryAsync(filter, select, RowKeysPerQuery, cancellationToken).ConfigureAwait(false))
                {
                    lock (found)
                    {
                        found.Add(row);
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
        return found;
    }

    /// <summary>
    /// Deletes every row the filter matches, in transactions of up to 100 rows of one partition. Works from
    /// whatever is left, so a run that stops half-way is finished by the next. Returns how many it deleted;
    /// <paramref name="progress"/> hears the running total after each transaction.
    /// </summary>
    public static async Task<int> DeletePartitionRowsAsync(this ITableStore table, string filter, CancellationToken cancellationToken, Func<int, Task>? progress = null)
    {
        var deleted = 0;
        var batch = new List<TableTransactionAction>(TransactionSize);
        async Task FlushAsync()
        {
            if (batch.Count == 0)
            {
                return;
            }

            try
            {
                await table.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            catch (TableTransactionFailedException ex) when (ex.Status == 404)
            {
                // Someone else (an earlier, interrupted run) deleted a row first: delete one by one.
                foreach (var action in batch)
                {
                    await table.DeleteAsync(action.Entity.PartitionKey, action.Entity.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
                }
            }

            deleted += batch.Count;
            batch.Clear();
            if (progress is not null)
            {
                await progress(deleted).ConfigureAwait(false);
            }
        }

        await foreach (var row in table.QueryAsync(filter, ["PartitionKey", "RowKey"], 1000, cancellationToken).ConfigureAwait(false))
        {
            if (batch.Count == TransactionSize || (batch.Count > 0 && batch[0].Entity.PartitionKey != row.PartitionKey))
            {
                await FlushAsync().ConfigureAwait(false);
            }

            batch.Add(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(row.PartitionKey, row.RowKey), ETag.All));
        }

        await FlushAsync().ConfigureAwait(false);
        return deleted;
    }
}
