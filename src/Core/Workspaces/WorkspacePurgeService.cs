using AgentSpend.Core.Audit;
using AgentSpend.Core.Auth;
using AgentSpend.Core.Limits;
using AgentSpend.Core.Pricing;
using AgentSpend.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace AgentSpend.Core.Workspaces;

public sealed record PurgeOutcome(string WorkspaceId, long DeletedRows, bool Finished);

/// <summary>
/// Removes the data of workspaces whose deletion was requested: usage rows, plan-limit rows, price
/// overrides, audit entries, then keys. Progress is written to the workspace record as it goes, so GET
/// shows it, and a run cut short is resumed by the next timer tick from whatever is left.
/// </summary>
public sealed partial class WorkspacePurgeService(
    IStorageProvider storage, WorkspaceStore workspaces, ApiKeyService keys, PlanLimitEnforcer limits, PriceOverrideStore overrides, AuditLog audit, TimeProvider clock, ILogger<WorkspacePurgeService> logger)
{
    private const int ProgressEveryRows = 1000;

    public async Task<IReadOnlyList<PurgeOutcome>> RunAsync(CancellationToken cancellationToken)
    {
        var outcomes = new List<PurgeOutcome>();
        foreach (var workspace in await workspaces.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (workspace.State == WorkspaceState.Deleting)
            {
                outcomes.Add(await PurgeAsync(workspace, cancellationToken).ConfigureAwait(false));
            }
        }

        return outcomes;
    }

    private async Task<PurgeOutcome> PurgeAsync(Workspace workspace, CancellationToken cancellationToken)
    {
        var previously = workspace.Deletion?.DeletedRows ?? 0;
        LogStarted(logger, workspace.Id, previously);
        long reported = previously;
        async Task ReportAsync(long total)
        {
            if (total - reported < ProgressEveryRows)
            {
                return;
            }

            reported = total;
            await SetProgressAsync(workspace.Id, total, finished: false, cancellationToken).ConfigureAwait(false);
            LogProgress(logger, workspace.Id, total);
        }

        var usage = storage.GetTable(StorageNames.UsageTable);
        var usageFilter = TableClient.CreateQueryFilter($"PartitionKey ge {workspace.Id + "|"} and PartitionKey lt {workspace.Id + "}"}");
        var deleted = previously;
        deleted += await usage.DeletePartitionRowsAsync(usageFilter, cancellationToken, d => ReportAsync(previously + d)).ConfigureAwait(false);
        var runs = storage.GetTable(StorageNames.RunsTable);
        deleted += await runs.DeletePartitionRowsAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspace.Id}"), cancellationToken).ConfigureAwait(false);
        deleted += await runs.DeletePartitionRowsAsync(
            TableClient.CreateQueryFilter($"PartitionKey eq {Runs.RunIndex.ActivePartition} and RowKey ge {workspace.Id + "|"} and RowKey lt {workspace.Id + "}"}"), cancellationToken).ConfigureAwait(false);
        foreach (var table in new[] { StorageNames.BudgetsTable, StorageNames.ControlsTable, StorageNames.ToolsTable, StorageNames.AlertsTable, StorageNames.WebhooksTable })
        {
            deleted += await storage.GetTable(table).DeletePartitionRowsAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspace.Id}"), cancellationToken).ConfigureAwait(false);
        }

        deleted += await limits.DeleteWorkspaceAsync(workspace.Id, cancellationToken).ConfigureAwait(false);
        deleted += await overrides.DeleteWorkspaceAsync(workspace.Id, cancellationToken).ConfigureAwait(false);
        deleted += await audit.DeleteWorkspaceAsync(workspace.Id, cancellationToken).ConfigureAwait(false);
        deleted += await keys.DeleteAllAsync(workspace.Id, cancellationToken).ConfigureAwait(false);
        await SetProgressAsync(workspace.Id, deleted, finished: true, cancellationToken).ConfigureAwait(false);
        LogFinished(logger, workspace.Id, deleted);
        return new PurgeOutcome(workspace.Id, deleted, true);
    }

    private async Task SetProgressAsync(string workspaceId, long deletedRows, bool finished, CancellationToken cancellationToken) =>
        await workspaces.UpdateAsync(workspaceId, w => w with
        {
            State = finished ? WorkspaceState.Deleted : w.State,
            Deletion = new WorkspaceDeletion(w.Deletion?.RequestedAt ?? clock.GetUtcNow(), deletedRows, finished ? clock.GetUtcNow() : null),
        }, cancellationToken).ConfigureAwait(false);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purging workspace {WorkspaceId} ({Previously} rows deleted by earlier runs)")]
    private static partial void LogStarted(ILogger logger, string workspaceId, long previously);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purging workspace {WorkspaceId}: {Deleted} rows deleted so far")]
    private static partial void LogProgress(ILogger logger, string workspaceId, long deleted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged workspace {WorkspaceId}: {Deleted} rows deleted in all")]
    private static partial void LogFinished(ILogger logger, string workspaceId, long deleted);
}
