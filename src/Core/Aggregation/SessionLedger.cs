using System.Text.Json;
using AgentSpend.Core.Domain;
using AgentSpend.Core.Pricing;
using Azure;
using Azure.Data.Tables;

namespace AgentSpend.Core.Aggregation;

/// <summary>
/// What per-call records and session metrics each reported for one session and model on one day.
/// <para>
/// Claude Code reports an API call twice when logs and metrics are both exported: as an <c>api_request</c>
/// log (which the span and the session file match by request id) and as increments of
/// <c>claude_code.token.usage</c> and <c>claude_code.cost.usage</c>, which carry no request id at all. So the
/// two channels are reconciled by sum instead: per session, model and day, each field counts the larger of
/// what the calls add up to and what the metrics add up to. Either channel alone counts in full, both
/// together count once, and whichever arrives second adds only what the first did not report.
/// </para>
/// Stored in the day's partition beside the buckets, and written in the same transactions as they are.
/// </summary>
public sealed class SessionLedger
{
    public const string RowPrefix = "s|";

    // Input, output, cache read, cache write, reasoning tokens; cost and estimate in nano-USD.
    private const int FieldCount = 7;

    private long[] _calls = new long[FieldCount];
    private long[] _metrics = new long[FieldCount];

    private SessionLedger(string rowKey, string session, string model, ETag? etag)
    {
        RowKey = rowKey;
        Session = session;
        Model = model;
        ETag = etag;
    }

    public string RowKey { get; }

    public string Session { get; }

    public string Model { get; }

    /// <summary>Null while the row is not stored yet.</summary>
    public ETag? ETag { get; internal set; }

    public static (string Session, string Model) KeyOf(UsageEvent e) => (e.SessionId ?? "", ModelNames.Normalize(e.Model));

    /// <summary>Unique across the table, like every usage row key.</summary>
    public static string RowKeyOf(string partitionKey, string session, string model) => RowPrefix + UsageTableKeys.Hash(partitionKey, session, model);

    public static SessionLedger New(string partitionKey, string session, string model) =>
        new(RowKeyOf(partitionKey, session, model), session, model, null);

    /// <summary>Records the event on its side and returns what it adds to the counted totals.</summary>
    public UsageCounters Count(UsageEvent e)
    {
        long[] reported = [e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.ReasoningTokens, e.CostNanos ?? 0, e.EstimatedCostNanos ?? 0];
        var side = e.Ledger == LedgerRole.Metric ? _metrics : _calls;
        var added = new long[FieldCount];
        for (var i = 0; i < FieldCount; i++)
        {
            var before = Math.Max(_calls[i], _metrics[i]);
            side[i] += reported[i];
            added[i] = Math.Max(_calls[i], _metrics[i]) - before;
        }

        var counters = new UsageCounters
        {
            InputTokens = added[0],
            OutputTokens = added[1],
            CacheReadTokens = added[2],
            CacheWriteTokens = added[3],
            ReasoningTokens = added[4],
            CostNanos = added[5],
            EstimatedCostNanos = added[6],
        };

        if (e.Ledger == LedgerRole.Call)
        {
            // A metric point is a share of many calls, never a call: calls and their outcomes come from records.
            var call = UsageCounters.Of(e);
            counters.Events = call.Events;
            counters.UnpricedEvents = call.UnpricedEvents;
            counters.Successes = call.Successes;
            counters.Failures = call.Failures;
            counters.DurationMs = call.DurationMs;
            counters.ServerPricedEvents = call.ServerPricedEvents;
            counters.BaselineTokens = call.BaselineTokens;
        }

        return counters;
    }

    /// <summary>Changes the cost and estimate one side reported (a re-pricing) and returns what that changes in the counted totals.</summary>
    public UsageCounters Adjust(LedgerRole role, long costDelta, long estimateDelta)
    {
        var side = role == LedgerRole.Metric ? _metrics : _calls;
        long Move(int field, long delta)
        {
            var before = Math.Max(_calls[field], _metrics[field]);
            side[field] += delta;
            return Math.Max(_calls[field], _metrics[field]) - before;
        }

        return new UsageCounters { CostNanos = Move(5, costDelta), EstimatedCostNanos = Move(6, estimateDelta) };
    }

    /// <summary>Per field: [calls, metrics]. For tests and diagnostics.</summary>
    public (long Calls, long Metrics) this[int field] => (_calls[field], _metrics[field]);

    internal SessionLedger Clone() => new(RowKey, Session, Model, ETag) { _calls = (long[])_calls.Clone(), _metrics = (long[])_metrics.Clone() };

    public TableEntity ToEntity(string partitionKey) => new(partitionKey, RowKey)
    {
        ["Session"] = Session,
        ["Model"] = Model,
        ["Calls"] = JsonSerializer.Serialize(_calls, CoreJsonContext.Default.Int64Array),
        ["Metrics"] = JsonSerializer.Serialize(_metrics, CoreJsonContext.Default.Int64Array),
    };

    public static SessionLedger FromEntity(TableEntity entity)
    {
        var ledger = new SessionLedger(entity.RowKey, entity.GetString("Session") ?? "", entity.GetString("Model") ?? "", entity.ETag);
        Read(entity.GetString("Calls"), ledger._calls);
        Read(entity.GetString("Metrics"), ledger._metrics);
        return ledger;
    }

    private static void Read(string? json, long[] into)
    {
        if (json is not null)
        {
            var values = JsonSerializer.Deserialize(json, CoreJsonContext.Default.Int64Array)!;
            Array.Copy(values, into, Math.Min(values.Length, into.Length));
        }
    }
}
