using System.Security.Cryptography;
using System.Text;
using AgentSpend.Core.Domain;

namespace AgentSpend.Core.Aggregation;

/// <summary>
/// Key layout of the <c>usage</c> table. A raw event and the daily bucket it feeds share the
/// partition <c>{workspace}|{local day}|{shard}</c>, so one entity-group transaction writes both.
/// RowKeys are unique across the whole table (Azurite finds rows by RowKey alone).
/// </summary>
public static class UsageTableKeys
{
    /// <summary>
    /// Partitions per workspace-day. One today; the suffix is there so a busy workspace can spread a day
    /// over several partitions (Azure allows ~2,000 entities/s per partition) without a key migration.
    /// </summary>
    public const int ShardsPerDay = 1;

    public const string EventRowPrefix = "e|";
    public const string BucketRowPrefix = "b|";
    public const string SliceRowPrefix = "c|";

    public static string Partition(string workspaceId, string day, int shard = 0) =>
        $"{workspaceId}|{day}|{shard:D2}";

    public static int ShardOf(string eventRowKey) =>
        ShardsPerDay == 1 ? 0 : (int)(Convert.ToUInt32(eventRowKey.AsSpan(2, 8).ToString(), 16) % ShardsPerDay);

    public static string PartitionOf(UsageEvent e) => Partition(e.WorkspaceId, e.Day, ShardOf(EventRow(e)));

    /// <summary>Hash of workspace and event identity: fixed length, URL- and key-safe, whatever the client's idempotency key holds.</summary>
    public static string EventRow(UsageEvent e) => EventRow(e.WorkspaceId, e.Id);

    public static string EventRow(string workspaceId, string eventId) => EventRowPrefix + Hash(workspaceId, eventId);

    /// <summary>The first 16 bytes of the SHA-256 of the parts joined by newlines, as 32 lower-case hex digits: every hashed key of the table.</summary>
    public static string Hash(params ReadOnlySpan<string> parts)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', parts)), hash);
        return Convert.ToHexStringLower(hash[..16]);
    }

    public static string BucketRow(string partitionKey, int index) => $"{BucketRowPrefix}{partitionKey}|{index:D3}";

    public static string SliceRow(string partitionKey, int index) => $"{SliceRowPrefix}{partitionKey}|{index:D3}";
}
