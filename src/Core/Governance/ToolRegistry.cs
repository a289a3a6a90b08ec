using System.Globalization;
using AgentSpend.Core.Storage;
using Azure.Data.Tables;

namespace AgentSpend.Core.Governance;

/// <summary>A tool with what one call of it costs, as the workspace registered it.</summary>
public sealed record RegisteredTool(string Name, decimal CostPerCallUsd, string? Note, DateTimeOffset UpdatedAt);

/// <summary>
/// Tools and their known cost per call, in the <c>tools</c> table (one partition per workspace). A check that
/// names a tool is measured with the registered cost, not the caller's estimate. Read from memory for checks,
/// re-read at most once a second.
/// </summary>
public sealed class ToolRegistry(IStorageProvider storage, TimeProvider clock)
{
    public const int MaxTools = 1000;
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    private readonly RefreshingCache<IReadOnlyDictionary<string, RegisteredTool>> _cache = new(Freshness, 2 * Freshness, clock);

    private ITableStore Table => storage.GetTable(StorageNames.ToolsTable);

    public async ValueTask<IReadOnlyDictionary<string, RegisteredTool>> AllAsync(string workspaceId, CancellationToken cancellationToken) =>
        (await _cache.GetAsync(workspaceId, ReadAsync, cancellationToken).ConfigureAwait(false)).Value;

    private async Task<IReadOnlyDictionary<string, RegisteredTool>> ReadAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var tools = new Dictionary<string, RegisteredTool>(StringComparer.Ordinal);
        await foreach (var row in Table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var name = TableKey.Decode(row.RowKey);
            tools[name] = new RegisteredTool(name, decimal.Parse(row.GetString("Cost") ?? "0", CultureInfo.InvariantCulture), row.GetString("Note"), row.GetDateTimeOffset("UpdatedAt") ?? DateTimeOffset.MinValue);
        }

        return tools;
    }

    public async Task<RegisteredTool> SetAsync(string workspaceId, string name, decimal costPerCallUsd, string? note, CancellationToken cancellationToken)
    {
        var tool = new RegisteredTool(name, costPerCallUsd, note, clock.GetUtcNow());
        await Table.UpsertAsync(new TableEntity(workspaceId, TableKey.Encode(name))
        {
            ["Cost"] = costPerCallUsd.ToString(CultureInfo.InvariantCulture), ["Note"] = note, ["UpdatedAt"] = tool.UpdatedAt,
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        _cache.Forget(workspaceId);
        return tool;
    }

    public async Task<bool> DeleteAsync(string workspaceId, string name, CancellationToken cancellationToken)
    {
        var existed = await Table.GetIfExistsAsync(workspaceId, TableKey.Encode(name), ["RowKey"], cancellationToken).ConfigureAwait(false) is not null;
        await Table.DeleteAsync(workspaceId, TableKey.Encode(name), Azure.ETag.All, cancellationToken).ConfigureAwait(false);
        _cache.Forget(workspaceId);
        return existed;
    }
}
