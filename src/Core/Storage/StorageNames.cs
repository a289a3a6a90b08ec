namespace AgentSpend.Core.Storage;

/// <summary>
/// Every table and queue the app uses. function.json files and (later) the Bicep name the same ones;
/// a contract test keeps them in step.
/// </summary>
public static class StorageNames
{
    /// <summary>Raw usage events and the daily buckets they feed: same partition, so one transaction covers both.</summary>
    public const string UsageTable = "usage";

    public const string ApiKeysTable = "apikeys";

    public const string IngestQueue = "usage-ingest";

    public static string PoisonQueueOf(string queue) => queue + "-poison";

    public static IReadOnlyList<string> Tables { get; } = [UsageTable, ApiKeysTable];

    public static IReadOnlyList<string> Queues { get; } = [IngestQueue, PoisonQueueOf(IngestQueue)];
}
