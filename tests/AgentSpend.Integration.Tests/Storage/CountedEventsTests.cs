using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Azure.Data.Tables;

namespace AgentSpend.Integration.Tests.Storage;

/// <summary>Finding the counted events of a pending set takes a bounded number of requests, by a scan or by key queries, whichever is fewer.</summary>
public sealed class CountedEventsTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string Partition = "default|2026-11-30|00";

    [Fact]
    public async Task Both_ways_find_exactly_the_stored_events_in_the_requests_their_sizes_imply()
    {
        var table = azurite.Storage.GetTable(StorageNames.UsageTable);
        await table.CreateIfNotExistsAsync();
        var stored = Enumerable.Range(0, 3_000).Select(i => UsageTableKeys.EventRow("default", $"k:stored-{i}")).ToArray();
        foreach (var batch in stored.Chunk(100))
        {
            await table.SubmitTransactionAsync(batch.Select(k => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(Partition, k))).ToArray());
        }

        // 70 pending: 35 stored ones and 35 never sent.
        var pending = stored.Where((_, i) => i % 80 == 0).Take(35)
            .Concat(Enumerable.Range(0, 35).Select(i => UsageTableKeys.EventRow("default", $"k:new-{i}"))).ToArray();
        var expected = pending.Take(35).ToHashSet();

        // A day of 3,000 events next to 70 pending: a scan (at most 4 pages) beats 5 queries of 14 keys.
        var before = azurite.Counter.Requests;
        Assert.Equal(expected, await CountedEvents.FindAsync(table, Partition, pending, eventsInDay: 3_000, CancellationToken.None));
        Assert.Equal(3, azurite.Counter.Requests - before); // 3,000 rows: three pages of 1,000

        // A day said to hold 100,000 events: 5 key queries instead of 101 pages.
        before = azurite.Counter.Requests;
        Assert.Equal(expected, await CountedEvents.FindAsync(table, Partition, pending, eventsInDay: 100_000, CancellationToken.None));
        Assert.Equal(5, azurite.Counter.Requests - before);
    }
}
