using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Configuration;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentSpend.Core.Retention;

public sealed record RetentionOutcome(string Workspace, string Cutoff, int Partitions, int Deleted, string AggregateCutoff, int AggregatesDeleted);

/// <summary>
/// Deletes a workspace's raw event rows of days older than its retention, and its daily buckets older
/// than AGENTSPEND_AGGREGATE_RETENTION_DAYS. It works from whatever is left, so it is idempotent and a
/// run that stops half-way is finished by the next one.
/// </summary>
public sealed partial class RetentionService(IStorageProvider storage, IWorkspaceDirectory workspaces, IOptions<AgentSpendOptions> options, TimeProvider clock, ILogger<RetentionService> logger)
{
    /// <summary>Runs retention for every active workspace.</summary>
    public async Task<IReadOnlyList<RetentionOutcome>> RunAllAsync(CancellationToken cancellationToken)
    {
        var outcomes = new List<RetentionOutcome>();
        foreach (var workspace in await workspaces.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (workspace.IsActive)
            {
                outcomes.Add(await RunAsync(workspace, cancellationToken).ConfigureAwait(false));
            }
        }

        return outcomes;
    }

    public async Task<RetentionOutcome> RunAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var today = workspace.Today(clock);
        var cutoff = Workspace.FormatDay(today.AddDays(-workspace.RetentionDays));
        var aggregateCutoff = Workspace.FormatDay(today.AddDays(-options.Value.AggregateRetentionDays));
        LogStarted(logger, workspace.Id, cutoff, aggregateCutoff);

        // Counted as events, not rows: a page holds many (see EventPages), a row of a version before pages one.
        var partitions = new HashSet<string>(StringComparer.Ordinal);
        var deleted = 0;
        await DeleteBeforeAsync(workspace.Id, cutoff, UsageTableKeys.EventRowPrefix, row =>
        {
            partitions.Add(row.PartitionKey);
            deleted += EventPages.IsPage(row.RowKey) ? row.GetInt32(EventPages.CountProperty) ?? 0 : 1;
        }, cancellationToken).ConfigureAwait(false);
        var aggregates = await DeleteBeforeAsync(workspace.Id, aggregateCutoff, UsageTableKeys.BucketRowPrefix, null, cancellationToken).ConfigureAwait(false);
        aggregates += await DeleteBeforeAsync(workspace.Id, aggregateCutoff, UsageTableKeys.SliceRowPrefix, null, cancellationToken).ConfigureAwait(false);
        aggregates += await DeleteBeforeAsync(workspace.Id, aggregateCutoff, Runs.RunDay.RowPrefix, null, cancellationToken).ConfigureAwait(false);
        aggregates += await storage.GetTable(StorageNames.RunsTable).DeletePartitionRowsAsync(
            TableClient.CreateQueryFilter($"PartitionKey eq {workspace.Id} and LastDay lt {aggregateCutoff}"), cancellationToken).ConfigureAwait(false);

        // Session ledgers and cumulative-series state only matter while late records of their day can still arrive.
        deleted += await DeleteBeforeAsync(workspace.Id, cutoff, SessionLedger.RowPrefix, null, cancellationToken).ConfigureAwait(false);
        deleted += await DeleteBeforeAsync(workspace.Id, cutoff, Otlp.SessionMetricsReader.SeriesRowPrefix, null, cancellationToken).ConfigureAwait(false);

        LogFinished(logger, workspace.Id, deleted, partitions.Count, aggregates);
        return new RetentionOutcome(workspace.Id, cutoff, partitions.Count, deleted, aggregateCutoff, aggregates);
    }

    /// <param name="found">Told of each row before any is deleted (its keys and, for event pages, their event count).</param>
    private async Task<int> DeleteBeforeAsync(string workspaceId, string cutoffDay, string rowPrefix, Action<TableEntity>? found, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.UsageTable);
        var firstKey = workspaceId + "|";
        var cutoffKey = UsageTableKeys.Partition(workspaceId, cutoffDay);
        var rowEnd = rowPrefix[..^1] + "}"; // '}' sorts right after '|'
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey ge {firstKey} and PartitionKey lt {cutoffKey} and RowKey ge {rowPrefix} and RowKey lt {rowEnd}");
        if (found is not null)
        {
            await foreach (var row in table.QueryAsync(filter, ["PartitionKey", "RowKey", EventPages.CountProperty], 1000, cancellationToken).ConfigureAwait(false))
            {
                found(row);
            }
        }

        return await table.DeletePartitionRowsAsync(filter, cancellationToken, deleted =>
        {
            if (deleted % 10_000 < 100)
            {
                LogProgress(logger, workspaceId, rowPrefix, deleted);
            }

            return Task.CompletedTask;
        }).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention for workspace {WorkspaceId}: deleting raw events of days before {Cutoff} and buckets of days before {AggregateCutoff}")]
    private static partial void LogStarted(ILogger logger, string workspaceId, string cutoff, string aggregateCutoff);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention for workspace {WorkspaceId}: {Deleted} rows with prefix {RowPrefix} deleted so far")]
    private static partial void LogProgress(ILogger logger, string workspaceId, string rowPrefix, int deleted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention for workspace {WorkspaceId} done: {Deleted} raw events deleted in {Partitions} days, {Aggregates} bucket rows deleted")]
    private static partial void LogFinished(ILogger logger, string workspaceId, int deleted, int partitions, int aggregates);
}
