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

    private static Plan<PageEntry>? Next(DailyBucket bucket, IReadOnlyList<PageEntry> pending, int guess = 99, int limit = 4_000) =>
        TransactionPacker.Next(pending, limit, guess, items => bucket.Apply([.. items.Select(i => i.Event)]),
            items => [.. EventPages.Paginate(items).Select((page, i) => new TableTransactionAction(TableTransactionActionType.Add, EventPages.ToEntity(Partition, i + 1, page)))], Partition);

    private static List<PageEntry> Realistic(int count, int tagLength = 8) =>
        [.. Enumerable.Range(0, count).Select(i => PageEntry.Of(Event(i, tagLength))).OrderBy(e => e.Event.SessionId, StringComparer.Ordinal).ThenBy(e => e.Event.RunId, StringComparer.Ordinal)];

    [Fact]
    public void A_thousand_realistic_events_share_a_few_pages_in_one_transaction()
    {
        var bucket = DailyBucket.Empty(Partition);
        var events = Realistic(1_000);

        var plan = Next(bucket, events);

        Assert.NotNull(plan);
        Assert.Equal(1_000, plan.Items.Count);
        var chars = events.Sum(e => e.Json.Length + 1);
        Assert.InRange(plan.ItemActions, (chars + EventPages.PageChars - 1) / EventPages.PageChars, (chars / (EventPages.PageChars - 1_000)) + 1);

        // Besides the pages: 50 run days and 10 session days, 13 + 4 + 12 + 3 + 100 dimension values in bucket row 0, and the slice rows.
        Assert.Equal(50 + 10, plan.Changes.Runs.Count);
        Assert.Single(plan.Changes.Rows);
        Assert.Equal(plan.ItemActions + plan.Changes.Count, plan.Actions.Count);
        Assert.True(plan.PayloadBytes <= TransactionPacker.MaxPayloadBytes);
    }

    [Fact]
    public void Packing_a_day_of_realistic_events_takes_every_event_within_the_limits()
    {
        var bucket = DailyBucket.Empty(Partition);
        var pending = Realistic(30_000);
        var (transactions, guess) = (0, 99);
        while (pending.Count > 0)
        {
            var plan = Next(bucket, pending, guess);
            Assert.NotNull(plan);
            Assert.True(plan.Actions.Count <= TransactionPacker.MaxOperations);
            Assert.True(plan.PayloadBytes <= TransactionPacker.MaxPayloadBytes);
            bucket.Commit(plan.Changes, Enumerable.Range(0, plan.Changes.Count).Select(i => new Azure.ETag($"W/\"{transactions}-{i}\"")).ToArray());
            pending.RemoveRange(0, plan.Items.Count);
            guess = plan.Items.Count;
            transactions++;
        }

        Assert.Equal(30_000, bucket.Total.Events);

        // A run of 20 events adds a run day and a fifth of a session day; ~150 events fill a page: 100 operations carry
        // at most ~1,500 events, so 30,000 take at least 20 transactions; a full one less than 4 % of the time.
        Assert.InRange(transactions, 20, 26);
    }

    [Fact]
    public void Items_of_one_row_each_fill_a_transaction_to_its_100_operations()
    {
        var bucket = DailyBucket.Empty(Partition);
        var events = Realistic(1_000);

        var plan = TransactionPacker.Next(events, 99, 10, items => bucket.Apply([.. items.Select(i => i.Event)]),
            items => [.. items.Select(e => new TableTransactionAction(TableTransactionActionType.Add, EventPages.ToLegacyEntity(Partition, e.Event)))], Partition);

        Assert.NotNull(plan);
        Assert.Equal(TransactionPacker.MaxOperations, plan.Actions.Count);
        Assert.Equal(plan.Items.Count, plan.ItemActions);
        Assert.Equal(plan.Items.Count + plan.Changes.Count, plan.Actions.Count);
    }

    [Fact]
    public void Events_too_large_to_share_a_page_take_one_each_and_the_transaction_stops_at_its_bytes()
    {
        var bucket = DailyBucket.Empty(Partition);
        var events = Realistic(400, tagLength: 30_000);

        var plan = Next(bucket, events);

        Assert.NotNull(plan);
        Assert.Equal(plan.Items.Count, plan.ItemActions);
        Assert.True(plan.PayloadBytes <= TransactionPacker.MaxPayloadBytes);
        Assert.True(plan.PayloadBytes > TransactionPacker.MaxPayloadBytes * 0.8, $"{plan.PayloadBytes} bytes in {plan.Items.Count} events");
    }
}
