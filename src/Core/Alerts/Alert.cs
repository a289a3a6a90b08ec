namespace AgentSpend.Core.Alerts;

/// <summary>
/// Something a workspace's people should hear about: a budget threshold crossed, a model seen without a price,
/// a spend spike, a queue message of theirs moved to a poison queue. Raised once per <see cref="Key"/>; delivered to the workspace's webhooks from the alerts queue.
/// </summary>
public sealed record Alert
{
    public const string BudgetThreshold = "budget_threshold";
    public const string UnpricedModel = "unpriced_model";
    public const string SpendSpike = "spend_spike";

    /// <summary>A queue message carrying the workspace's events (or its alert) failed every try and was moved to the poison queue.</summary>
    public const string IngestPoisoned = "ingest_poisoned";

    public static IReadOnlyList<string> Kinds { get; } = [BudgetThreshold, UnpricedModel, SpendSpike, IngestPoisoned];

    /// <summary>Unique and ordered by time (newest first sorts first in the table).</summary>
    public required string Id { get; init; }

    public required string WorkspaceId { get; init; }

    /// <summary>One of <see cref="Kinds"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>What makes two alerts the same: e.g. budget, period start and threshold. An alert is raised once per key.</summary>
    public required string Key { get; init; }

    /// <summary>One plain sentence for people.</summary>
    public required string Message { get; init; }

    public required DateTimeOffset RaisedAt { get; init; }

    public BudgetAlertDetails? Budget { get; init; }

    /// <summary>For <see cref="UnpricedModel"/>: the model as events name it.</summary>
    public string? Model { get; init; }

    public SpikeAlertDetails? Spike { get; init; }

    public PoisonedAlertDetails? Poisoned { get; init; }
}

/// <summary>The budget whose threshold was crossed, and where it stood.</summary>
public sealed record BudgetAlertDetails(
    string Id, string? Name, string Scope, string? ScopeValue, string Metric, string Period, string Action,
    decimal Limit, decimal Used, decimal UsedPct, int Threshold, string? PeriodStart, string? PeriodEnd);

/// <summary>An hour whose cost went above <see cref="Factor"/> times the trailing 7-day hourly mean.</summary>
public sealed record SpikeAlertDetails(string HourStart, decimal HourCostUsd, decimal TrailingHourlyMeanUsd, decimal Factor);

/// <summary>
/// The queue whose message was poisoned, the poison queue it now waits in, how many of the workspace's events it carries
/// (null for a message that carries no events, such as an alert's delivery), and the UTC hour the alert stands for.
/// </summary>
public sealed record PoisonedAlertDetails(string Queue, string PoisonQueue, int? Events, string HourStart);

/// <summary>Where an alert's delivery stands (or one webhook's post of it). Written as its wire name wherever it leaves the code.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<AlertDelivery>))]
public enum AlertDelivery
{
    [System.Text.Json.Serialization.JsonStringEnumMemberName("pending")]
    Pending,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("delivered")]
    Delivered,

    [System.Text.Json.Serialization.JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>The workspace had no webhook when the alert was delivered: kept in the history only.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("no_webhooks")]
    NoWebhooks,

    /// <summary>Raised past the hour's allowance of its kind (<see cref="AlertStore.MaxPostedPerKindHour"/>): kept in the history, not posted.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("throttled")]
    Throttled,
}

/// <summary>The wire names of <see cref="AlertDelivery"/>: in the API, in query filters, in the alerts table.</summary>
public static class AlertDeliveryNames
{
    public static IReadOnlyList<string> All => Serialization.WireNames.All<AlertDelivery>();

    public static string ToWire(this AlertDelivery delivery) => Serialization.WireNames.Of(delivery);

    public static bool TryParse(string? name, out AlertDelivery delivery) => Serialization.WireNames.TryParse(name, out delivery);
}
