using System.Text.Json.Serialization;

namespace AgentSpend.Core.Governance;

/// <summary>Whose usage a budget counts.</summary>
public enum BudgetScope
{
    Workspace,
    Team,
    User,
    Agent,
    Model,

    /// <summary>One API key's usage: the key events were sent with, and checks are made with.</summary>
    Key,
}

/// <summary>What a budget counts.</summary>
public enum BudgetMetric
{
    CostUsd,
    Tokens,
    Calls,
}

/// <summary>The window a budget counts over: calendar periods of the workspace's timezone, all time, or the last five hours.</summary>
public enum BudgetPeriod
{
    Daily,
    Weekly,
    Monthly,
    Total,
    Rolling5h,
}

/// <summary>What happens at 100%: an alert only, or calls are refused.</summary>
public enum BudgetAction
{
    Alert,
    Block,
}

/// <summary>A limit on one scope's usage over a period, with the thresholds (in %) that raise alerts.</summary>
public sealed record Budget
{
    public static readonly IReadOnlyList<int> DefaultThresholds = [50, 80, 100];

    public required string Id { get; init; }

    public string? Name { get; init; }

    public required BudgetScope Scope { get; init; }

    /// <summary>The team, user, agent or model the budget is for; null for the workspace.</summary>
    public string? ScopeValue { get; init; }

    public required BudgetMetric Metric { get; init; }

    public required BudgetPeriod Period { get; init; }

    public required decimal Limit { get; init; }

    public IReadOnlyList<int> Thresholds { get; init; } = DefaultThresholds;

    public BudgetAction Action { get; init; } = BudgetAction.Alert;

    /// <summary>
    /// After a reset: the usage the budget had then, no longer counted while the period it was reset in lasts
    /// (<see cref="ResetPeriodStart"/>; <c>total</c> for an all-time budget). Replacing the budget clears it.
    /// </summary>
    public decimal? ResetBaseline { get; init; }

    public string? ResetPeriodStart { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>The names the API uses for the budget enums.</summary>
public static class BudgetNames
{
    public static readonly IReadOnlyDictionary<string, BudgetScope> Scopes = new Dictionary<string, BudgetScope>(StringComparer.Ordinal)
    {
        ["workspace"] = BudgetScope.Workspace, ["team"] = BudgetScope.Team, ["user"] = BudgetScope.User, ["agent"] = BudgetScope.Agent, ["model"] = BudgetScope.Model, ["key"] = BudgetScope.Key,
    };

    public static readonly IReadOnlyDictionary<string, BudgetMetric> Metrics = new Dictionary<string, BudgetMetric>(StringComparer.Ordinal)
    {
        ["cost_usd"] = BudgetMetric.CostUsd, ["tokens"] = BudgetMetric.Tokens, ["calls"] = BudgetMetric.Calls,
    };

    public static readonly IReadOnlyDictionary<string, BudgetPeriod> Periods = new Dictionary<string, BudgetPeriod>(StringComparer.Ordinal)
    {
        ["daily"] = BudgetPeriod.Daily, ["weekly"] = BudgetPeriod.Weekly, ["monthly"] = BudgetPeriod.Monthly, ["total"] = BudgetPeriod.Total, ["rolling_5h"] = BudgetPeriod.Rolling5h,
    };

    public static readonly IReadOnlyDictionary<string, BudgetAction> Actions = new Dictionary<string, BudgetAction>(StringComparer.Ordinal)
    {
        ["alert"] = BudgetAction.Alert, ["block"] = BudgetAction.Block,
    };

    public static string Name<T>(IReadOnlyDictionary<string, T> names, T value) => names.First(kv => EqualityComparer<T>.Default.Equals(kv.Value, value)).Key;
}
