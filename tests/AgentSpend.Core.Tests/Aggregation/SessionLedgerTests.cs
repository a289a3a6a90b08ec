using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AgentSpend.Core.Tests.Aggregation;

/// <summary>Session ledgers: per field, the day counts the larger of what per-call records and session metrics reported.</summary>
public class SessionLedgerTests
{
    private const string Partition = "default|2026-11-22|00";

    private static UsageEvent Event(LedgerRole role, long input, long output, long costNanos) => new()
    {
        Id = "s:" + Guid.NewGuid().ToString("N"),
        WorkspaceId = "default",
        Day = "2026-11-22",
        Timestamp = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero),
        Agent = "claude-code",
        Provider = "anthropic",
        Model = "claude-sonnet-4-5-20250929",
        SessionId = "s1",
        InputTokens = input,
        OutputTokens = output,
        CostNanos = costNanos,
        EstimatedCostNanos = costNanos,
        DurationMs = 10,
        Ledger = role,
    };

    [Fact]
    public void Metrics_after_calls_add_only_what_the_calls_did_not_report_and_never_a_call()
    {
        var ledger = SessionLedger.New(Partition, "s1", "claude-sonnet-4-5");

        var call = ledger.Count(Event(LedgerRole.Call, 100, 10, 1_000));
        var sameCallAsMetric = ledger.Count(Event(LedgerRole.Metric, 100, 10, 1_000));
        var moreInMetrics = ledger.Count(Event(LedgerRole.Metric, 50, 0, 400));

        Assert.Equal([1L, 100, 10, 0, 0, 0, 1_000, 0, 0, 0, 10, 1_000, 0, 0, 0, 0, 0, 0], call.ToArray());
        Assert.Equal(new long[UsageCounters.FieldCount], sameCallAsMetric.ToArray());
        Assert.Equal([0L, 50, 0, 0, 0, 0, 400, 0, 0, 0, 0, 400, 0, 0, 0, 0, 0, 0], moreInMetrics.ToArray());
        Assert.Equal((100L, 150L), ledger[0]);
    }

    [Fact]
    public void A_call_after_metrics_counts_as_a_call_and_adds_tokens_only_past_the_metrics()
    {
        var ledger = SessionLedger.New(Partition, "s1", "claude-sonnet-4-5");
        ledger.Count(Event(LedgerRole.Metric, 300, 30, 3_000));

        var first = ledger.Count(Event(LedgerRole.Call, 200, 20, 2_000));
        var second = ledger.Count(Event(LedgerRole.Call, 200, 20, 2_000));

        Assert.Equal([1L, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0], first.ToArray());
        Assert.Equal([1L, 100, 10, 0, 0, 0, 1_000, 0, 0, 0, 10, 1_000, 0, 0, 0, 0, 0, 0], second.ToArray());
    }

    [Fact]
    public void Repricing_a_call_moves_the_counted_cost_only_as_far_as_the_metrics_allow()
    {
        var ledger = SessionLedger.New(Partition, "s1", "claude-sonnet-4-5");
        ledger.Count(Event(LedgerRole.Call, 100, 10, 1_000));
        ledger.Count(Event(LedgerRole.Metric, 100, 10, 800));

        var cheaper = ledger.Adjust(LedgerRole.Call, costDelta: -500, estimateDelta: -500);
        var dearer = ledger.Adjust(LedgerRole.Call, costDelta: 700, estimateDelta: 0);

        // Counted cost: max(1,000, 800) = 1,000 → max(500, 800) = 800 → max(1,200, 800) = 1,200.
        Assert.Equal((-200L, -200L), (cheaper.CostNanos, cheaper.EstimatedCostNanos));
        Assert.Equal((400L, 0L), (dearer.CostNanos, dearer.EstimatedCostNanos));
        Assert.Equal((0L, 0L), (dearer.Events, dearer.InputTokens));
    }

    [Fact]
    public void A_ledger_survives_a_round_trip_through_its_table_entity()
    {
        var ledger = SessionLedger.New(Partition, "s1", "claude-sonnet-4-5");
        ledger.Count(Event(LedgerRole.Call, 7, 3, 90));
        ledger.Count(Event(LedgerRole.Metric, 9, 1, 80));

        var read = SessionLedger.FromEntity(ledger.ToEntity(Partition));

        Assert.Equal((ledger.RowKey, "s1", "claude-sonnet-4-5"), (read.RowKey, read.Session, read.Model));
        Assert.All(Enumerable.Range(0, 7), i => Assert.Equal(ledger[i], read[i]));
        Assert.StartsWith(SessionLedger.RowPrefix, read.RowKey, StringComparison.Ordinal);
        Assert.NotEqual(read.RowKey, SessionLedger.RowKeyOf("default|2026-11-23|00", "s1", "claude-sonnet-4-5")); // one ledger per day
    }

    /// <summary>
    /// Whatever the order in which calls and the metrics reporting the same calls arrive, and however the
    /// metrics slice them into intervals, the counted totals are the calls' totals and the calls are counted once each.
    /// </summary>
    [Property(MaxTest = 300)]
    public Property Both_channels_in_any_interleaving_count_every_call_once() =>
        Prop.ForAll(Arb.From(
            from calls in Gen.Choose(1, 5_000).Select(n => (long)n).ArrayOf().Where(a => a.Length is > 0 and < 12)
            from cuts in Gen.Choose(1, 4)
            from seed in Gen.Choose(0, int.MaxValue)
            select (calls, cuts, seed)), input =>
        {
            var (calls, cuts, seed) = input;
            var total = calls.Sum();
            // The metrics report the same total in `cuts` intervals of whatever size.
            var slices = new List<long>();
            var left = total;
            var random = new Random(seed);
            for (var i = 0; i < cuts - 1 && left > 0; i++)
            {
                var slice = random.NextInt64(0, left + 1);
                slices.Add(slice);
                left -= slice;
            }

            slices.Add(left);
            var events = calls.Select(c => Event(LedgerRole.Call, c, c / 10, c * 3))
                .Concat(slices.Select(s => Event(LedgerRole.Metric, s, 0, s * 3)))
                .OrderBy(_ => random.Next())
                .ToList();
            // Output is reported by the calls only: the metrics' zero never lowers it.
            var ledger = SessionLedger.New(Partition, "s1", "claude-sonnet-4-5");
            var counted = new UsageCounters();
            foreach (var e in events)
            {
                counted.Add(ledger.Count(e));
            }

            return counted.Events == calls.Length
                   && counted.InputTokens == total
                   && counted.OutputTokens == calls.Sum(c => c / 10)
                   && counted.CostNanos == total * 3
                   && counted.DurationMs == calls.Length * 10;
        });
}
