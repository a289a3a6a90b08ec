using System.Globalization;
using System.Text.Json;
using AgentSpend.Core.Storage;
using Azure.Data.Tables;

namespace AgentSpend.Core.Governance;

/// <summary>Budgets in the <c>budgets</c> table: one partition per workspace, one row per budget.</summary>
public sealed class BudgetStore(IStorageProvider storage, TimeProvider clock)
{
    public const int MaxBudgetsPerWorkspace = 1000;

    private ITableStore Table => storage.GetTable(StorageNames.BudgetsTable);

    public async Task<IReadOnlyList<Budget>> ListAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var budgets = new List<Budget>();
        await foreach (var row in CappedPartition.ListAsync(Table, workspaceId, cancellationToken).ConfigureAwait(false))
        {
            budgets.Add(FromEntity(row));
        }

        return [.. budgets.OrderBy(b => b.CreatedAt).ThenBy(b => b.Id, StringComparer.Ordinal)];
    }

    public async Task<Budget?> GetAsync(string workspaceId, string id, CancellationToken cancellationToken) =>
        IsWellFormedId(id) && await Table.GetIfExistsAsync(workspaceId, id, cancellationToken: cancellationToken).ConfigureAwait(false) is { } row ? FromEntity(row) : null;

    /// <summary>Stores a new budget under a new id; null when the workspace already holds <see cref="MaxBudgetsPerWorkspace"/>, however many are created at once.</summary>
    public async Task<Budget?> CreateAsync(string workspaceId, Budget budget, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var stored = budget with { Id = "bud_" + Guid.NewGuid().ToString("N")[..16], CreatedAt = now, UpdatedAt = now };
        return await CappedPartition.TryAddAsync(Table, ToEntity(workspaceId, stored), MaxBudgetsPerWorkspace, cancellationToken).ConfigureAwait(false) ? stored : null;
    }

    /// <summary>Replaces a budget's definition; null when there is no such budget.</summary>
    public async Task<(Budget Before, Budget After)?> ReplaceAsync(string workspaceId, string id, Budget budget, CancellationToken cancellationToken)
    {
        if (!IsWellFormedId(id) || await Table.GetIfExistsAsync(workspaceId, id, cancellationToken: cancellationToken).ConfigureAwait(false) is not { } row)
        {
            return null;
        }

        var before = FromEntity(row);
        var after = budget with { Id = id, CreatedAt = before.CreatedAt, UpdatedAt = clock.GetUtcNow() };
        await Table.UpdateAsync(ToEntity(workspaceId, after), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        return (before, after);
    }

    /// <summary>Stores a reset: <paramref name="baseline"/> of the period starting <paramref name="periodStart"/> no longer counts.</summary>
    public async Task<(Budget Before, Budget After)?> ResetAsync(string workspaceId, string id, decimal baseline, string periodStart, CancellationToken cancellationToken)
    {
        if (!IsWellFormedId(id) || await Table.GetIfExistsAsync(workspaceId, id, cancellationToken: cancellationToken).ConfigureAwait(false) is not { } row)
        {
            return null;
        }

        var before = FromEntity(row);
        var after = before with { ResetBaseline = baseline, ResetPeriodStart = periodStart, UpdatedAt = clock.GetUtcNow() };
        await Table.UpdateAsync(ToEntity(workspaceId, after), row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        return (before, after);
    }

    public async Task<Budget?> DeleteAsync(string workspaceId, string id, CancellationToken cancellationToken)
    {
        if (await GetAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is not { } budget)
        {
            return null;
        }

        return await CappedPartition.TryDeleteAsync(Table, workspaceId, id, cancellationToken).ConfigureAwait(false) ? budget : null;
    }

    private static bool IsWellFormedId(string id) => id is { Length: 20 } && id.StartsWith("bud_", StringComparison.Ordinal) && id[4..].All(char.IsAsciiHexDigitLower);

    private static TableEntity ToEntity(string workspaceId, Budget b) => new(workspaceId, b.Id)
    {
        ["Name"] = b.Name,
        ["Scope"] = BudgetNames.Name(BudgetNames.Scopes, b.Scope),
        ["ScopeValue"] = b.ScopeValue,
        ["Metric"] = BudgetNames.Name(BudgetNames.Metrics, b.Metric),
        ["Period"] = BudgetNames.Name(BudgetNames.Periods, b.Period),
        ["Limit"] = b.Limit.ToString(CultureInfo.InvariantCulture),
        ["Thresholds"] = JsonSerializer.Serialize(b.Thresholds.ToArray(), CoreJsonContext.Default.Int32Array),
        ["Action"] = BudgetNames.Name(BudgetNames.Actions, b.Action),
        ["ResetBaseline"] = b.ResetBaseline?.ToString(CultureInfo.InvariantCulture),
        ["ResetPeriodStart"] = b.ResetPeriodStart,
        ["CreatedAt"] = b.CreatedAt,
        ["UpdatedAt"] = b.UpdatedAt,
    };

    private static Budget FromEntity(TableEntity e) => new()
    {
        Id = e.RowKey,
        Name = e.GetString("Name"),
        Scope = BudgetNames.Scopes[e.GetString("Scope") ?? "workspace"],
        ScopeValue = e.GetString("ScopeValue"),
        Metric = BudgetNames.Metrics[e.GetString("Metric") ?? "cost_usd"],
        Period = BudgetNames.Periods[e.GetString("Period") ?? "monthly"],
        Limit = decimal.Parse(e.GetString("Limit") ?? "0", CultureInfo.InvariantCulture),
        Thresholds = e.GetString("Thresholds") is { } t ? JsonSerializer.Deserialize(t, CoreJsonContext.Default.Int32Array)! : Budget.DefaultThresholds,
        Action = BudgetNames.Actions[e.GetString("Action") ?? "alert"],
        ResetBaseline = e.GetString("ResetBaseline") is { } baseline ? decimal.Parse(baseline, CultureInfo.InvariantCulture) : null,
        ResetPeriodStart = e.GetString("ResetPeriodStart"),
        CreatedAt = e.GetDateTimeOffset("CreatedAt") ?? default,
        UpdatedAt = e.GetDateTimeOffset("UpdatedAt") ?? default,
    };
}
