using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Otlp.Proto;
using AgentSpend.Core.Storage;
using AgentSpend.Core.Workspaces;
using Azure;
using Azure.Data.Tables;
using Google.Protobuf.Collections;
using Microsoft.Extensions.Logging;
using static AgentSpend.Core.Otlp.OtlpUsageMapper;

namespace AgentSpend.Core.Otlp;

/// <summary>
/// Turns Claude Code's session metrics (<c>claude_code.token.usage</c> by <c>type</c>, and
/// <c>claude_code.cost.usage</c>) into usage events, one per group of points that share their attributes
/// (session, model, query source, effort…) and their interval.
/// <para>
/// Delta points are increments already; a point's identity (attributes, start and time) makes its event
/// id, so a resent export is dropped by the exactly-once aggregation. Cumulative points are turned into
/// increments against the last value stored for their series (attributes and start time), as an OpenTelemetry
/// collector's cumulative-to-delta step does: a value lower than the last one is a reset, a point not newer
/// than the last one adds nothing. The last value is stored only after the events are queued, so a failed
/// request leaves it untouched and the client's retry produces the same events again. This relies on one
/// writer per series, which OpenTelemetry's periodic readers are: a series belongs to one process.
/// </para>
/// The events are marked as session metrics: the aggregator's session ledgers make them count only what the
/// same session's per-call records (api_request logs, spans, session files) do not already count.
/// </summary>
public sealed partial class SessionMetricsReader(IStorageProvider storage, StorageFanOut fanOut, ILogger<SessionMetricsReader> logger)
{
    public const string CostMetric = "claude_code.cost.usage";
    public const string TokenMetric = "claude_code.token.usage";

    /// <summary>Row prefix of cumulative series state, stored in the usage table in the partition of the series' start day.</summary>
    public const string SeriesRowPrefix = "m|";

    private enum Field { Input, Output, CacheRead, CacheWrite, Cost }

    private sealed record Point(Attributes Attributes, string Group, string Series, Field Field, long Value, ulong Start, ulong Time, bool Cumulative);

    private sealed record SeriesState(string PartitionKey, string RowKey, long Time, long Value, ETag? ETag);

    public async Task<OtlpBatch> ReadAsync(ExportMetricsServiceRequest request, Workspace workspace, CancellationToken cancellationToken)
    {
        var points = new List<Point>();
        var reasons = new List<string>();
        int other = 0, refused = 0;
        void Refuse(string metric, int index, string reason)
        {
            refused++;
            if (reasons.Count < 5)
            {
                reasons.Add($"{metric} data point {index}: {reason}");
            }
        }

        foreach (var resourceMetrics in request.ResourceMetrics)
        {
            var resource = resourceMetrics.Resource?.Attributes;
            foreach (var metric in resourceMetrics.ScopeMetrics.SelectMany(s => s.Metrics))
            {
                if (metric.Name is not (CostMetric or TokenMetric) || metric.Sum is null)
                {
                    other += metric.Sum?.DataPoints.Count ?? 1;
                    continue;
                }

                var temporality = metric.Sum.AggregationTemporality;
                for (var i = 0; i < metric.Sum.DataPoints.Count; i++)
                {
                    var dp = metric.Sum.DataPoints[i];
                    var attributes = new Attributes(dp.Attributes, resource);
                    Field? field = metric.Name == CostMetric ? Field.Cost : attributes.String("type") switch
                    {
                        "input" => Field.Input,
                        "output" => Field.Output,
                        "cacheRead" => Field.CacheRead,
                        "cacheCreation" => Field.CacheWrite,
                        _ => null,
                    };
                    var value = dp.ValueCase switch
                    {
                        NumberDataPoint.ValueOneofCase.AsDouble => dp.AsDouble,
                        NumberDataPoint.ValueOneofCase.AsInt => dp.AsInt,
                        _ => double.NaN,
                    };
                    if (field is null)
                    {
                        Refuse(metric.Name, i, $"type '{attributes.String("type")}' is not input, output, cacheRead or cacheCreation");
                    }
                    else if (!double.IsFinite(value) || value < 0 || value > 1e15)
                    {
                        Refuse(metric.Name, i, "the value must be a number from 0 to 10^15");
                    }
                    else if (field != Field.Cost && value != Math.Floor(value))
                    {
                        Refuse(metric.Name, i, "a token count must be a whole number");
                    }
                    else if (dp.TimeUnixNano == 0)
                    {
                        Refuse(metric.Name, i, "time_unix_nano is required");
                    }
                    else if (temporality is not (AggregationTemporality.Delta or AggregationTemporality.Cumulative))
                    {
                        Refuse(metric.Name, i, "aggregation temporality must be delta or cumulative");
                    }
                    else if (temporality == AggregationTemporality.Cumulative && dp.StartTimeUnixNano == 0)
                    {
                        Refuse(metric.Name, i, "a cumulative point needs start_time_unix_nano to tell its series from a restarted one");
                    }
                    else
                    {
                        var scaled = field == Field.Cost ? (long)Math.Round((decimal)value * 1_000_000_000m) : (long)value;
                        var identity = Identity(dp.Attributes, resource, exclude: "type");
                        points.Add(new Point(
                            attributes,
                            Group: $"{identity}\u001e{dp.StartTimeUnixNano}\u001e{dp.TimeUnixNano}\u001e{(int)temporality}",
                            Series: $"{metric.Name}\u001e{Identity(dp.Attributes, resource, exclude: null)}\u001e{dp.StartTimeUnixNano}",
                            field.Value, scaled, dp.StartTimeUnixNano, dp.TimeUnixNano, temporality == AggregationTemporality.Cumulative));
                    }
                }
            }
        }

        var (increments, states) = await ToIncrementsAsync(points, workspace, cancellationToken).ConfigureAwait(false);
        using var writer = new BatchWriter();
        var written = 0;
        foreach (var group in increments.GroupBy(p => p.Point.Group, StringComparer.Ordinal))
        {
            var increment = new SessionMetricsIncrement();
            foreach (var (point, value) in group)
            {
                switch (point.Field)
                {
                    case Field.Input: increment.InputTokens += value; break;
                    case Field.Output: increment.OutputTokens += value; break;
                    case Field.CacheRead: increment.CacheReadTokens += value; break;
                    case Field.CacheWrite: increment.CacheWriteTokens += value; break;
                    case Field.Cost: increment.CostNanos = (increment.CostNanos ?? 0) + value; break;
                }
            }

            if (increment.IsEmpty)
            {
                continue; // nothing happened in this interval
            }

            var first = group.First().Point;
            WriteMetricUsage(writer.Next(), first.Attributes, Instant(first.Time)!, increment, "metric:" + Hash(group.Key));
            writer.Wrote(true);
            written++;
        }

        LogRead(logger, points.Count, written, other, refused, workspace.Id);
        return new OtlpBatch(writer.Finish(), points.Count, other)
        {
            Refused = refused,
            RefusalReasons = reasons,
            AfterQueued = states.Count == 0 ? null : ct => SaveAsync(states, ct),
        };
    }

    /// <summary>Each point with what it adds: its value for delta points, the change since the stored value for cumulative ones.</summary>
    private async Task<(List<(Point Point, long Value)> Increments, List<SeriesState> States)> ToIncrementsAsync(List<Point> points, Workspace workspace, CancellationToken cancellationToken)
    {
        var increments = points.Where(p => !p.Cumulative).Select(p => (p, p.Value)).ToList();
        var series = points.Where(p => p.Cumulative).GroupBy(p => p.Series, StringComparer.Ordinal).ToArray();
        var stored = await Task.WhenAll(series.Select(async s =>
        {
            var start = DateTimeOffset.FromUnixTimeMilliseconds((long)(s.First().Start / 1_000_000));
            var partition = UsageTableKeys.Partition(workspace.Id, Workspace.FormatDay(workspace.LocalDayOf(start)));
            var rowKey = SeriesRowPrefix + Hash(workspace.Id + "\n" + s.Key);
            var row = await fanOut.RunAsync(token => storage.GetTable(StorageNames.UsageTable).GetIfExistsAsync(partition, rowKey, cancellationToken: token), cancellationToken).ConfigureAwait(false);
            return row is null
                ? new SeriesState(partition, rowKey, 0, 0, null)
                : new SeriesState(partition, rowKey, row.GetInt64("T") ?? 0, row.GetInt64("V") ?? 0, row.ETag);
        })).ConfigureAwait(false);

        var states = new List<SeriesState>();
        for (var i = 0; i < series.Length; i++)
        {
            var state = stored[i];
            var changed = false;
            foreach (var point in series[i].OrderBy(p => p.Time))
            {
                if ((long)point.Time <= state.Time)
                {
                    continue; // already counted: a resend, or a point overtaken by a newer one
                }

                increments.Add((point, point.Value >= state.Value ? point.Value - state.Value : point.Value));
                state = state with { Time = (long)point.Time, Value = point.Value };
                changed = true;
            }

            if (changed)
            {
                states.Add(state);
            }
        }

        return (increments, states);
    }

    private async Task SaveAsync(List<SeriesState> states, CancellationToken cancellationToken)
    {
        var table = storage.GetTable(StorageNames.UsageTable);
        await Task.WhenAll(states.Select(async state =>
        {
            var entity = new TableEntity(state.PartitionKey, state.RowKey) { ["T"] = state.Time, ["V"] = state.Value };
            try
            {
                await fanOut.RunAsync(token => state.ETag is { } etag
                    ? table.UpdateAsync(entity, etag, TableUpdateMode.Replace, token)
                    : table.InsertAsync(entity, token), cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another request of the same series (a resend of this export) stored it first.
                LogSeriesRace(logger, state.RowKey);
            }
        })).ConfigureAwait(false);
    }

    /// <summary>The attributes of a point and its resource, sorted, as one string (the point's value wins over the resource's).</summary>
    private static string Identity(RepeatedField<KeyValue> own, RepeatedField<KeyValue>? resource, string? exclude)
    {
        var merged = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in (resource ?? []).Concat(own))
        {
            if (kv.Key != exclude)
            {
                merged[kv.Key] = kv.Value?.ToString() ?? "";
            }
        }

        return string.Join('\u001f', merged.Select(kv => kv.Key + "=" + kv.Value));
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));

    [LoggerMessage(Level = LogLevel.Debug, Message = "OTLP metrics: {Points} usage points became {Events} events ({Other} other points, {Refused} refused) for workspace {WorkspaceId}")]
    private static partial void LogRead(ILogger logger, int points, int events, int other, int refused, string workspaceId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Cumulative series state {RowKey} was stored by another request first")]
    private static partial void LogSeriesRace(ILogger logger, string rowKey);
}
