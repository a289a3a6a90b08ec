using System.Text.Json;

namespace AgentSpend.Core.Otlp;

public static partial class OtlpUsageMapper
{
    /// <summary>
    /// One reporting interval of a Claude Code session metric series group: the token and cost increments
    /// of one (session, model, query source, effort…) between two instants.
    /// </summary>
    internal static void WriteMetricUsage(Utf8JsonWriter json, Attributes a, string when, SessionMetricsIncrement increment, string key)
    {
        json.WriteStartObject();
        WriteCommon(json, a, "anthropic", a.String("model"), when, a.String("service.name") ?? "claude-code", a.String("session.id"));
        WriteTokens(json, increment.InputTokens, increment.OutputTokens, increment.CacheReadTokens, increment.CacheWriteTokens, null);
        if (increment.CostNanos is { } nanos)
        {
            json.WriteNumber("cost_usd", nanos / 1_000_000_000m);
        }

        json.WriteString("idempotency_key", key);
        json.WriteEndObject();
    }
}

/// <summary>What one group of metric data points adds: tokens by kind, and cost when a cost point was among them.</summary>
internal sealed class SessionMetricsIncrement
{
    public long InputTokens { get; set; }

    public long OutputTokens { get; set; }

    public long CacheReadTokens { get; set; }

    public long CacheWriteTokens { get; set; }

    public long? CostNanos { get; set; }

    public bool IsEmpty => InputTokens == 0 && OutputTokens == 0 && CacheReadTokens == 0 && CacheWriteTokens == 0 && (CostNanos ?? 0) == 0;
}
