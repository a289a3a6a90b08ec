using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Domain;
using Azure.Data.Tables;

namespace AgentSpend.Core.Tests.Aggregation;

public sealed class TransactionPackerTests
{
    private const string Partition = "default|2026-11-22|00";

    private static UsageEvent Event(int i, int tagLength = 8) => new()
    {
        Id = $"k:{i}",
        WorkspaceId = "default",
        Day = "2026-11-22",
        Timestamp = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero).AddSeconds(i),
        Agent = $"agent-{i % 13}",
        Provider = "anthropic",
        Model = $"model-{i % 4}",
        InputTokens = 10,
        OutputTokens = 1,
        CostNanos = 1_000,
        UserId = $"user-{i % 12}",
        Team = $"team-{i % 3}",
        RunId = $"run-{i / 20}",
        SessionId = $"session-{i / 100}",
        Tags = new Dictionary<string, string> { ["repo"] = $"repo-{i % 100}-" + new string('x', tagLength) },
    };

    private static Plan<UsageEvent>? Next(DailyBucket bucket, IReadOnlyList<UsageEvent> pending, int guess = 99) =>
        TransactionPacker.Next(pending, 99, guess, items => bucket.Apply([.. items]),
            e => new TableTransactionAction(TableTransactionActionType.Add, UsageAggregator.ToEventEntity(Partition, UsageTableKeys.EventRow(e), e)), Partition);

    [Fact]
    public void Realistic_events_fill_a_transaction_to_its_100_operations()
    {
        var bucket = DailyBucket.Empty(Partition);
        var events = Enumerable.Range(0, 1_000).Select(i => Event(i)).OrderBy(UsageTableKeys.EventRow, StringComparer.Ordinal).ToArray();

        var plan = Next(bucket, events);

        Assert.NotNull(plan);
        Assert.Equal(TransactionPacker.MaxOperations, plan.Actions.Count);
        Assert.Equal(plan.Items.Count + plan.Changes.Count, plan.Actions.Count);
        Assert.True(plan.PayloadBytes <= TransactionPacker.MaxPayloadBytes);
    }

    [Fact]
    public void Packing_a_day_of_realistic_events_takes_every_event_within_the_limits()
    {
        var bucket = DailyBucket.Empty(Partition);
        var pending = Enumerable.Range(0, 3_000).Select(i => Event(i)).OrderBy(e => e.SessionId, StringComparer.Ordinal).ThenBy(e => e.RunId, StringComparer.Ordinal).ToList();
        var transactions = 0;
        while (pending.Count > 0)
        {
            var plan = Next(bucket, pending);
            Assert.NotNull(plan);
            Assert.True(plan.Actions.Count <= TransactionPacker.MaxOperations);
            Assert.True(plan.PayloadBytes <= TransactionPacker.MaxPayloadBytes);
            bucket.Commit(plan.Changes, Enumerable.Range(0, plan.Changes.Count).Select(i => new Azure.ETag($"W/\"{transactions}-{i}\"")).ToArray());
            pending.RemoveRange(0, plan.Items.Count);
            transactions++;
        }

        Assert.Equal(3_000, bucket.Total.Events);
        Assert.InRange(transactions, 31, 36); // 3,000 / 99 = 31 at the very least; a handful of rows each besides the events
    }
}
