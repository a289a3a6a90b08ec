using System.Collections.Concurrent;
using AgentSpend.Core.Storage;
using Azure.Data.Tables;

namespace AgentSpend.Core.Governance;

/// <summary>A kill switch in force: one agent's, or every agent's of the workspace.</summary>
public sealed record AgentControl(string? Agent, string State, string? Reason, DateTimeOffset At, string? By)
{
    public const string Killed = "killed";
}

/// <summary>
/// Kill switches, in the <c>controls</c> table (one partition per workspace; <c>agent|{name}</c> or <c>all</c>).
/// Checks read them from memory, re-read at most <see cref="Freshness"/> after the last read, so a kill made on
/// any instance takes effect everywhere within that time; on the instance that made it, at once.
/// </summary>
public sealed class AgentControls(IStorageProvider storage, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    private const string AllRow = "all";

    private readonly ConcurrentDictionary<string, (DateTimeOffset ReadAt, IReadOnlyDictionary<string, AgentControl> Controls)> _cache = new(StringComparer.Ordinal);

    private ITableStore Table => storage.GetTable(StorageNames.ControlsTable);

    /// <summary>The switch that stops this agent now (its own, else the workspace-wide one), or null.</summary>
    public async ValueTask<AgentControl?> FindAsync(string workspaceId, string agent, CancellationToken cancellationToken)
    {
        var controls = await AllAsync(workspaceId, cancellationToken).ConfigureAwait(false);
        return controls.GetValueOrDefault(RowOf(agent)) ?? controls.GetValueOrDefault(AllRow);
    }

    public async ValueTask<IReadOnlyDictionary<string, AgentControl>> AllAsync(string workspaceId, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(workspaceId, out var cached) && clock.GetUtcNow() - cached.ReadAt < Freshness)
        {
            return cached.Controls;
        }

        var readAt = clock.GetUtcNow();
        var controls = new Dictionary<string, AgentControl>(StringComparer.Ordinal);
        await foreach (var row in Table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            controls[row.RowKey] = new AgentControl(
                row.RowKey == AllRow ? null : TableKey.Decode(row.RowKey[6..]), row.GetString("State") ?? AgentControl.Killed, row.GetString("Reason"),
                row.GetDateTimeOffset("At") ?? readAt, row.GetString("By"));
        }

        _cache[workspaceId] = (readAt, controls);
        return controls;
    }

    /// <summary>Kills one agent (<paramref name="agent"/>) or all of them (null).</summary>
    public async Task<AgentControl> KillAsync(string workspaceId, string? agent, string? reason, string? by, CancellationToken cancellationToken)
    {
        var control = new AgentControl(agent, AgentControl.Killed, reason, clock.GetUtcNow(), by);
        await Table.UpsertAsync(new TableEntity(workspaceId, agent is null ? AllRow : RowOf(agent))
        {
            ["State"] = control.State, ["Reason"] = reason, ["At"] = control.At, ["By"] = by,
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(workspaceId, out _);
        return control;
    }

    /// <summary>Lifts one agent's switch (or the workspace-wide one, for null); false when there was none.</summary>
    public async Task<bool> ResumeAsync(string workspaceId, string? agent, CancellationToken cancellationToken)
    {
        var row = agent is null ? AllRow : RowOf(agent);
        var existed = await Table.GetIfExistsAsync(workspaceId, row, ["RowKey"], cancellationToken).ConfigureAwait(false) is not null;
        await Table.DeleteAsync(workspaceId, row, Azure.ETag.All, cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(workspaceId, out _);
        return existed;
    }

    private static string RowOf(string agent) => "agent|" + TableKey.Encode(agent);
}
