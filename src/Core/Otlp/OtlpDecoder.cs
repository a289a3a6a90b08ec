using AgentSpend.Core.Otlp.Proto;
using Google.Protobuf;

namespace AgentSpend.Core.Otlp;

/// <summary>A body that is not the OTLP message it claims to be.</summary>
public sealed class OtlpFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads OTLP/HTTP bodies: protobuf or JSON (the OTLP JSON mapping), gzip-compressed or not.</summary>
public static class OtlpDecoder
{
    /// <summary>Largest body accepted after decompression. One Codex turn exports about 1 MB of JSON.</summary>
    public const int MaxDecodedBytes = 32 * 1024 * 1024;

    /// <summary>The most log records, spans or metric data points one export may carry: an SDK exports 512 at a time by default.</summary>
    public const int MaxItems = 10_000;

    /// <summary>The most metrics (series of points) one metrics export may carry.</summary>
    public const int MaxMetrics = 1_000;

    /// <summary>Why an export carries too much to take in one request, or null; each item costs pricing, queueing and, for metrics, stored series state.</summary>
    public static string? TooMany(IMessage export)
    {
        (long Items, string What, long Metrics) counted = export switch
        {
            ExportLogsServiceRequest logs => (logs.ResourceLogs.Sum(r => r.ScopeLogs.Sum(s => (long)s.LogRecords.Count)), "log records", 0),
            ExportTraceServiceRequest traces => (traces.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => (long)s.Spans.Count)), "spans", 0),
            ExportMetricsServiceRequest metrics => (
                metrics.ResourceMetrics.Sum(r => r.ScopeMetrics.Sum(s => s.Metrics.Sum(PointsOf))), "data points",
                metrics.ResourceMetrics.Sum(r => r.ScopeMetrics.Sum(s => (long)s.Metrics.Count))),
            _ => (0, "items", 0),
        };
        return counted.Items > MaxItems ? $"An export carries at most {MaxItems} {counted.What}; this one has {counted.Items}. Export smaller batches."
            : counted.Metrics > MaxMetrics ? $"An export carries at most {MaxMetrics} metrics; this one has {counted.Metrics}. Export smaller batches."
            : null;
    }

    // Only sums are read (tokens and cost are sums); other kinds are skipped as unknown fields while parsing.
    private static long PointsOf(Metric metric) => metric.Sum?.DataPoints.Count ?? 0;

    private static readonly JsonParser Json = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true).WithRecursionLimit(32));

    /// <summary>Inflates a gzip body; null when it grows past <see cref="MaxDecodedBytes"/>.</summary>
    public static byte[]? Gunzip(ReadOnlyMemory<byte> body)
    {
        try
        {
            return Ingest.Gzip.Inflate(body, MaxDecodedBytes);
        }
        catch (InvalidDataException ex)
        {
            throw new OtlpFormatException("The body is not valid gzip.", ex);
        }
    }

    public static T Parse<T>(ReadOnlySpan<byte> body, bool json, MessageParser<T> parser)
        where T : IMessage<T>, new()
    {
        try
        {
            return json ? Json.Parse<T>(System.Text.Encoding.UTF8.GetString(body)) : parser.ParseFrom(body);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            throw new OtlpFormatException($"The body is not a valid OTLP {(json ? "JSON" : "protobuf")} {typeof(T).Name}: {ex.Message}", ex);
        }
    }
}
