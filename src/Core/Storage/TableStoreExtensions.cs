using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Storage;

public static class TableStoreExtensions
{
    private const int TransactionSize = 100;

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
