using AgentSpend.Core.Domain;

namespace AgentSpend.Core.Ingest;

/// <summary>Where a batch of events came from.</summary>
public enum IngestChannel
{
    /// <summary>The native batch API: events count as sent.</summary>
    Api,

    /// <summary>Per-call records translated by the server: OTLP logs and spans, imported files.</summary>
    CallRecords,

    /// <summary>Session metric data points translated by the server (OTLP metrics).</summary>
    SessionMetrics,
}

public static class IngestChannelExtensions
{
    /// <summary>The harnesses that report the same calls as session metrics too, so their records are reconciled by session ledger.</summary>
    private static readonly HashSet<string> MetricReportingHarnesses = new(StringComparer.OrdinalIgnoreCase) { "claude-code" };

    public static UsageEvent Mark(this IngestChannel channel, UsageEvent e) => channel switch
    {
        IngestChannel.SessionMetrics => e with { Ledger = LedgerRole.Metric },
        IngestChannel.CallRecords when MetricReportingHarnesses.Contains(e.Tags?.GetValueOrDefault("harness") ?? e.Agent) => e with { Ledger = LedgerRole.Call },
        _ => e,
    };
}
