using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Storage;

/// <summary>
/// Rows of one partition under a cap that holds however many callers create at once: a count row in the same
/// partition changes in the same transaction as each insert and delete, and a changed count makes a racing
/// writer read it again. (Counting the rows and then inserting would let every racer pass the same count.)
/// A partition written before the count row existed gets one, counted from its rows, with its first insert.
/// </summary>
public static class CappedPartition
{
    /// <summary>The count row's key: sorts after every id the stores issue, and readers of the partition skip it.</summary>
    public const string CountRowKey = "~count";

    private const string CountProperty = "Count";

    /// <summary>Inserts <paramref name="row"/> unless its partition already holds <paramref name="cap"/> rows; false then.</summary>
    public static async Task<bool> TryAddAsync(ITableStore table, ITableEntity row, int cap, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (count, counter) = await ReadCountAsync(table, row.PartitionKey, cancellationToken).ConfigureAwait(false);
            if (count >= cap)
            {
                return false;
            }

            var next = new TableEntity(row.PartitionKey, CountRowKey) { [CountProperty] = count + 1 };
            TableTransactionAction[] actions =
            [
                counter is null ? new(TableTransactionActionType.Add, next) : new(TableTransactionActionType.UpdateReplace, next, counter.ETag),
                new(TableTransactionActionType.Add, row),
            ];
            try
            {
                await table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (TableTransactionFailedException ex) when (ex.FailedTransactionActionIndex == 0 && ex.Status is 409 or 412)
            {
                // Another writer changed the count first: read it again.
            }
        }
    }

    /// <summary>Deletes the row <paramref name="rowKey"/> (whatever its ETag) and takes it off the count; false when it was not there.</summary>
    public static async Task<bool> TryDeleteAsync(ITableStore table, string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        while (true)
        {
            var counter = await table.GetIfExistsAsync(partitionKey, CountRowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (counter is null)
            {
                return await table.TryDeleteAsync(partitionKey, rowKey, ETag.All, cancellationToken).ConfigureAwait(false);
            }

            var count = counter.GetInt32(CountProperty) ?? 0;
            TableTransactionAction[] actions =
            [
                new(TableTransactionActionType.UpdateReplace, new TableEntity(partitionKey, CountRowKey) { [CountProperty] = Math.Max(0, count - 1) }, counter.ETag),
                new(TableTransactionActionType.Delete, new TableEntity(partitionKey, rowKey), ETag.All),
            ];
            try
            {
                await table.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (TableTransactionFailedException ex) when (ex.FailedTransactionActionIndex == 0 && ex.Status is 409 or 412)
            {
                // The count changed meanwhile: read it again.
            }
            catch (TableTransactionFailedException ex) when (ex.FailedTransactionActionIndex == 1 && ex.Status == 404)
            {
                return false;
            }
        }
    }

    /// <summary>The rows of a partition, without its count row.</summary>
    public static async IAsyncEnumerable<TableEntity> ListAsync(ITableStore table, string partitionKey, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var row in table.QueryAsync(RowsOf(partitionKey), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return row;
        }
    }

    private static string RowsOf(string partitionKey) => TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey} and RowKey ne {CountRowKey}");

    private static async Task<(int Count, TableEntity? Counter)> ReadCountAsync(ITableStore table, string partitionKey, CancellationToken cancellationToken)
    {
        if (await table.GetIfExistsAsync(partitionKey, CountRowKey, cancellationToken: cancellationToken).ConfigureAwait(false) is { } counter)
        {
            return (counter.GetInt32(CountProperty) ?? 0, counter);
        }

        var count = 0;
        await foreach (var _ in table.QueryAsync(RowsOf(partitionKey), ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            count++;
        }

        return (count, null);
    }
}
