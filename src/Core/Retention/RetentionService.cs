using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Retention;

public sealed record RetentionOutcome(string Workspace, string Cutoff, int Partitions, int Deleted);

/// <summary>
/// Deletes raw event rows of days older than the retention period; the daily buckets stay. It works
/// from whatever is left, so a run that stops half-way is finished by the next one.
/// </summary>
public sealed partial class RetentionService(IStorageProvider storage, IOptions<AgentSpendOptions> options, TimeProvider clock, ILogger<RetentionService> logger)
{
    private const int BatchSize = 100;

    public async Task<RetentionOutcome> RunAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.UsageTable);
        var cutoff = workspace.Today(clock).AddDays(-options.Value.RetentionDays);
        var cutoffDay = Workspace.FormatDay(cutoff);
        var cutoffKey = UsageTableKeys.Partition(workspace.Id, cutoffDay);
        var firstKey = workspace.Id + "|";
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey ge {firstKey} and PartitionKey lt {cutoffKey} and RowKey ge {UsageTableKeys.EventRowPrefix} and RowKey lt {"e}"}");
        LogStarted(logger, workspace.Id, cutoffDay);

        var deleted = 0;
        var partitions = new HashSet<string>(StringComparer.Ordinal);
        var batch = new List<TableTransactionAction>(BatchSize);
        string? batchPartition = null;
        async Task FlushAsync()
        {
            if (batch.Count == 0)
            {
                return;
            }

            await table.SubmitTransactionAsync(batch, cancellationToken).ConfigureAwait(false);
            deleted += batch.Count;
            batch.Clear();
            if (deleted % 10_000 < BatchSize)
            {
                LogProgress(logger, workspace.Id, deleted, partitions.Count);
            }
        }

        await foreach (var row in table.QueryAsync(filter, ["PartitionKey", "RowKey"], 1000, cancellationToken).ConfigureAwait(false))
        {
            if (batchPartition != row.PartitionKey || batch.Count == BatchSize)
            {
                await FlushAsync().ConfigureAwait(false);
                batchPartition = row.PartitionKey;
                partitions.Add(row.PartitionKey);
            }

            batch.Add(new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(row.PartitionKey, row.RowKey), ETag.All));
        }

        await FlushAsync().ConfigureAwait(false);
        LogFinished(logger, workspace.Id, deleted, partitions.Count);
        return new RetentionOutcome(workspace.Id, cutoffDay, partitions.Count, deleted);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention for workspace {WorkspaceId}: deleting raw events of days before {Cutoff}")]
    private static partial void LogStarted(ILogger logger, string workspaceId, string cutoff);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention for workspace {WorkspaceId}: {Deleted} raw events deleted so far, in {Partitions} days")]
    private static partial void LogProgress(ILogger logger, string workspaceId, int deleted, int partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention for workspace {WorkspaceId} done: {Deleted} raw events deleted in {Partitions} days")]
    private static partial void LogFinished(ILogger logger, string workspaceId, int deleted, int partitions);
}
