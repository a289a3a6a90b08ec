using AgentSpend.Core.Storage;
using Azure.Data.Tables;

namespace AgentSpend.Core.Governance;

/// <summary>
/// A stop in force: a kill switch (one agent's, or every agent's of the workspace), or a pause that a block budget
/// put on its scope when aggregated usage crossed its limit (until <see cref="Until"/>, its period's end).
/// </summary>
public sealed record AgentControl(string? Agent, ControlState State, string? Reason, DateTimeOffset At, string? By)
{
    /// <summary>For a pause: the scope paused (<c>agent</c>, <c>user</c>, <c>team</c>, <c>key</c>, <c>model</c> or <c>workspace</c>) and its value.</summary>
    public string? Scope { get; init; }

    public string? ScopeValue { get; init; }

    /// <summary>For a pause: the budget that paused it.</summary>
    public string? BudgetId { get; init; }

    /// <summary>For a pause: when its budget's period rolls over; null for an all-time budget (until resumed).</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Whether this pause applies to a call by these coordinates.</summary>
    public bool Covers(string agent, string? user, string? team, string? keyId, string? model) => Scope switch
    {
        "workspace" => true,
        "agent" => ScopeValue == agent,
        "user" => ScopeValue == user,
        "team" => ScopeValue == team,
        "key" => ScopeValue == keyId,
        "model" => ScopeValue == model,
        _ => false,
    };
}

/// <summary>What stops an agent: a kill switch, or a budget's pause. Written as its lower-case name (API, table, events).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ControlState>))]
public enum ControlState
{
    [System.Text.Json.Serialization.JsonStringEnumMemberName("killed")]
    Killed,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("paused")]
    Paused,
}

public static class ControlStateNames
{
    public static string ToWire(this ControlState state) => Serialization.WireNames.Of(state);

    /// <summary>A stored state; anything but <c>paused</c> is a kill (the state a row without one has always meant).</summary>
    public static ControlState Parse(string? stored) =>
        Serialization.WireNames.TryParse<ControlState>(stored, out var state) ? state : ControlState.Killed;
}

/// <summary>
/// Kill switches and pauses, in the <c>controls</c> table (one partition per workspace; <c>agent|{name}</c>, <c>all</c>,
/// or <c>pause|{scope}|{value}</c>). Checks read them from memory, re-read in the background once they are
/// <see cref="Freshness"/> old and waited for once <see cref="MaxStaleness"/> old, so a kill or pause made on any
/// instance takes effect everywhere within about a second and never more than two; on the instance that made it, at once.
/// </summary>
public sealed class AgentControls(IStorageProvider storage, TimeProvider clock)
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    private const string AllRow = "all";
    private const string PausePrefix = "pause|";

    /// <summary>A kill or pause made on another instance takes effect here within this (plus one read).</summary>
    public static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(2);

    private readonly RefreshingCache<IReadOnlyDictionary<string, AgentControl>> _cache = new(Freshness, MaxStaleness, clock);

    private ITableStore Table => storage.GetTable(StorageNames.ControlsTable);

    /// <summary>What stops a call by these coordinates now: a kill switch first, else a pause whose period has not rolled over; null when none.</summary>
    public async ValueTask<AgentControl?> FindStopAsync(string workspaceId, string agent, string? user, string? team, string? keyId, string? model, CancellationToken cancellationToken)
    {
        var controls = await AllAsync(workspaceId, cancellationToken).ConfigureAwait(false);
        if ((controls.GetValueOrDefault(RowOf(agent)) ?? controls.GetValueOrDefault(AllRow)) is { } kill)
        {
            return kill;
        }

        var now = clock.GetUtcNow();
        foreach (var control in controls.Values)
        {
            if (control.State == ControlState.Paused && (control.Until is null || control.Until > now) && control.Covers(agent, user, team, keyId, model))
            {
                return control;
            }
        }

        return null;
    }

    /// <summary>
    /// Pauses a scope for a block budget until <paramref name="until"/>. A pause already in force for the scope stays as it is;
    /// returns true when this call paused it.
    /// </summary>
    public async Task<bool> PauseAsync(string workspaceId, string scope, string? scopeValue, string budgetId, DateTimeOffset? until, CancellationToken cancellationToken)
    {
        var pause = new TableEntity(workspaceId, PauseRowOf(scope, scopeValue))
        {
            ["State"] = ControlState.Paused.ToWire(), ["Reason"] = "budget_exceeded", ["At"] = clock.GetUtcNow(), ["By"] = "budget:" + budgetId,
            ["Scope"] = scope, ["ScopeValue"] = scopeValue, ["BudgetId"] = budgetId, ["Until"] = until,
        };
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await Table.InsertAsync(pause, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (Azure.RequestFailedException ex) when (ex.Status == 409)
            {
                // A pause of an ended period that the timer has not lifted yet gives way to this one; one in force stays.
                var existing = await Table.GetIfExistsAsync(workspaceId, pause.RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (existing is not null && (existing.GetDateTimeOffset("Until") is not { } ended || ended > clock.GetUtcNow()))
                {
                    return false;
                }

                try
                {
                    if (existing is not null)
                    {
                        await Table.UpdateAsync(pause, existing.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                        break;
                    }
                }
                catch (Azure.RequestFailedException raced) when (raced.Status is 404 or 412 && attempt < 3)
                {
                    // Lifted or replaced meanwhile: look again.
                }
            }
        }

        _cache.Forget(workspaceId);
        return true;
    }

    /// <summary>Lifts the pauses a budget put (after its reset, change or deletion); returns how many.</summary>
    public async Task<int> LiftPausesAsync(string workspaceId, string budgetId, CancellationToken cancellationToken)
    {
        var lifted = 0;
        foreach (var (row, control) in await ReadAsync(workspaceId, cancellationToken).ConfigureAwait(false))
        {
            if (control.State == ControlState.Paused && control.BudgetId == budgetId)
            {
                await Table.DeleteAsync(workspaceId, row, Azure.ETag.All, cancellationToken).ConfigureAwait(false);
                lifted++;
            }
        }

        _cache.Forget(workspaceId);
        return lifted;
    }

    /// <summary>
    /// Lifts, in every workspace, the pauses whose period has rolled over. Each delete is conditional on the row read,
    /// so two timers at once lift each pause once and never a pause made again since.
    /// </summary>
    public async Task<int> LiftRolledOverAsync(CancellationToken cancellationToken)
    {
        var lifted = 0;
        var filter = TableClient.CreateQueryFilter($"State eq {ControlState.Paused.ToWire()} and Until le {clock.GetUtcNow()}");
        await foreach (var row in Table.QueryAsync(filter, ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            // Conditional on the row read: lifted by another timer, or paused again since, it is not ours to lift.
            if (await Table.TryDeleteAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken).ConfigureAwait(false))
            {
                lifted++;
                _cache.Forget(row.PartitionKey);
            }
        }

        return lifted;
    }

    public async ValueTask<IReadOnlyDictionary<string, AgentControl>> AllAsync(string workspaceId, CancellationToken cancellationToken) =>
        (await _cache.GetAsync(workspaceId, ReadByRowAsync, cancellationToken).ConfigureAwait(false)).Value;

    private async Task<IReadOnlyDictionary<string, AgentControl>> ReadByRowAsync(string workspaceId, CancellationToken cancellationToken) =>
        (await ReadAsync(workspaceId, cancellationToken).ConfigureAwait(false)).ToDictionary(c => c.Row, c => c.Control, StringComparer.Ordinal);

    private async Task<List<(string Row, AgentControl Control)>> ReadAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var controls = new List<(string, AgentControl)>();
        await foreach (var row in Table.QueryAsync(TableClient.CreateQueryFilter($"PartitionKey eq {workspaceId}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var agent = row.RowKey.StartsWith("agent|", StringComparison.Ordinal) ? TableKey.Decode(row.RowKey[6..]) : null;
            controls.Add((row.RowKey, new AgentControl(agent, ControlStateNames.Parse(row.GetString("State")), row.GetString("Reason"), row.GetDateTimeOffset("At") ?? DateTimeOffset.MinValue, row.GetString("By"))
            {
                Scope = row.GetString("Scope"), ScopeValue = row.GetString("ScopeValue"), BudgetId = row.GetString("BudgetId"), Until = row.GetDateTimeOffset("Until"),
            }));
        }

        return controls;
    }

    /// <summary>Kills one agent (<paramref name="agent"/>) or all of them (null).</summary>
    public async Task<AgentControl> KillAsync(string workspaceId, string? agent, string? reason, string? by, CancellationToken cancellationToken)
    {
        var control = new AgentControl(agent, ControlState.Killed, reason, clock.GetUtcNow(), by);
        await Table.UpsertAsync(new TableEntity(workspaceId, agent is null ? AllRow : RowOf(agent))
        {
            ["State"] = control.State.ToWire(), ["Reason"] = reason, ["At"] = control.At, ["By"] = by,
        }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        _cache.Forget(workspaceId);
        return control;
    }

    /// <summary>
    /// Lifts one agent's kill switch and pause (for null: the workspace-wide switch and every pause); false when
    /// there was nothing to lift.
    /// </summary>
    public async Task<bool> ResumeAsync(string workspaceId, string? agent, CancellationToken cancellationToken)
    {
        var lifted = (await ReadAsync(workspaceId, cancellationToken).ConfigureAwait(false))
            .Where(c => agent is null
                ? c.Row == AllRow || c.Control.State == ControlState.Paused
                : c.Row == RowOf(agent) || c.Row == PauseRowOf("agent", agent))
            .ToArray();
        foreach (var (row, _) in lifted)
        {
            await Table.DeleteAsync(workspaceId, row, Azure.ETag.All, cancellationToken).ConfigureAwait(false);
        }

        _cache.Forget(workspaceId);
        return lifted.Length > 0;
    }

    private static string RowOf(string agent) => "agent|" + TableKey.Encode(agent);

    private static string PauseRowOf(string scope, string? value) => PausePrefix + scope + "|" + TableKey.Encode(value ?? string.Empty);
}
