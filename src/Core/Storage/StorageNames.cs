namespace AgentSpend.Core.Storage;

/// <summary>
/// Every table and queue the app uses. The queue functions' triggers and infra/bicep/main.bicep name the same ones;
/// the deploy contract tests (tests/AgentSpend.Integration.Tests/Deploy) keep them in step.
/// </summary>
public static class StorageNames
{
    /// <summary>Raw usage events and the daily buckets they feed: same partition, so one transaction covers both.</summary>
    public const string UsageTable = "usage";

    public const string ApiKeysTable = "apikeys";

    public const string WorkspacesTable = "workspaces";

    /// <summary>Append-only record of administrative actions, partitioned by workspace.</summary>
    public const string AuditTable = "audit";

    /// <summary>Per workspace: the agents seen (for the max-agents limit) and the day's ingest count (for the daily quota).</summary>
    public const string LimitsTable = "limits";

    /// <summary>Per workspace (the partition), its own prices of models, one row per normalised model name.</summary>
    public const string PriceOverridesTable = "priceoverrides";

    /// <summary>Per workspace (the partition), every run and session: its span, its days and its status; plus the active ones under <c>~active</c>.</summary>
    public const string RunsTable = "runs";

    /// <summary>Per workspace (the partition), its budgets.</summary>
    public const string BudgetsTable = "budgets";

    /// <summary>Per workspace (the partition), the kill switches in force.</summary>
    public const string ControlsTable = "controls";

    /// <summary>Per workspace (the partition), the tools registered with their cost per call.</summary>
    public const string ToolsTable = "tools";

    /// <summary>Per block budget (<c>{workspace}|{budget}</c>), the estimates held for allowed checks; per workspace (<c>{workspace}|open</c>), the reservations not yet released.</summary>
    public const string ReservationsTable = "reservations";

    /// <summary>Per workspace (the partition), the alerts raised, with their delivery status, and the markers that keep each raised once.</summary>
    public const string AlertsTable = "alerts";

    /// <summary>Per workspace (the partition), the webhooks alerts are posted to.</summary>
    public const string WebhooksTable = "webhooks";

    public const string IngestQueue = "usage-ingest";

    /// <summary>Alerts waiting to be posted to their workspace's webhooks.</summary>
    public const string AlertsQueue = "alerts";

    /// <summary>Where the host (or the standalone listener) moves a message of <paramref name="queue"/> that failed maxDequeueCount times.</summary>
    public static string PoisonQueueOf(string queue) => queue + "-poison";

    /// <summary>
    /// The queues functions are triggered by, each with its poison queue: the one list the admin API, health and
    /// <see cref="Queues"/> are derived from (the deploy contract tests check the generated function metadata names the same).
    /// </summary>
    public static IReadOnlyList<string> TriggerQueues { get; } = [IngestQueue, AlertsQueue];

    public static IReadOnlyList<string> Tables { get; } = [UsageTable, ApiKeysTable, WorkspacesTable, AuditTable, LimitsTable, PriceOverridesTable, RunsTable, BudgetsTable, ControlsTable, ToolsTable, ReservationsTable, AlertsTable, WebhooksTable];

    public static IReadOnlyList<string> Queues { get; } = [.. TriggerQueues.SelectMany(q => new[] { q, PoisonQueueOf(q) })];
}
