using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Recovery;

/// <summary>Transactions are packed by what they carry, and an event whose row cannot be stored never takes its neighbours down.</summary>
public sealed class PackingTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const long AzureBatchLimit = 4L * 1024 * 1024;

    [Fact]
    public async Task Events_with_many_long_tag_values_are_packed_under_the_4_MiB_batch_limit_and_all_counted()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        const int Events = 800;

        // 32 tags of 256-character values, new with each of the first 600 events: the day's bucket grows row after row
        // of tag values (240,000 characters a row). The last 200 events take the values of events spread over all of
        // those rows, so that 99 of them would change every row of the day at once: far more than 4 MiB.
        object Event(int i)
        {
            var fields = EventFactory.WireFields(i, day, $"packed-{i}");
            fields["tags"] = Enumerable.Range(0, 32).ToDictionary(t => $"tag-{t:D2}", t => $"{(i < 600 ? i : (i - 600) * 3):D5}-{t:D2}-" + new string((char)('a' + (t % 26)), 247));
            return fields;
        }

        foreach (var batch in Enumerable.Range(0, Events).Chunk(100))
        {
            Assert.Equal(batch.Length, (await app.IngestAsync(new { events = batch.Select(Event).ToArray() })).Long("accepted"));
        }

        var overview = await app.WaitForEventsAsync(Events, Json.Day(day), Json.Day(day), TimeSpan.FromSeconds(120));
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, Events)), EventFactory.Actual(overview));
        var counter = app.Services.GetRequiredService<StorageRequestCounter>();
        Assert.InRange(counter.LargestTransactionBytes, 1L * 1024 * 1024, AzureBatchLimit); // large, never past the limit
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue)).GetApproximateCountAsync());
    }

    [Fact]
    public async Task An_event_whose_row_the_service_refuses_goes_alone_to_the_poison_queue_and_its_199_neighbours_are_counted()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-2);
        var events = Enumerable.Range(0, 200).Select(i => EventFactory.QueuedRealistic(i, day, "s:isolate-")).ToList();
        var unwritable = EventFactory.QueuedRealistic(1_000, day, "s:isolate-") with { Agent = new string('x', 40_000) }; // past 32K characters a property
        events.Insert(97, unwritable);
        await app.Storage.GetQueue(StorageNames.IngestQueue).SendAsync(Assert.Single(IngestMessageCodec.Pack(events)));

        var overview = await app.WaitForEventsAsync(200, Json.Day(day), Json.Day(day));
        var poison = app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue));
        var poisoned = Assert.Single(await poison.PeekAsync(32));
        Assert.Equal(unwritable.Id, Assert.Single(IngestMessageCodec.Unpack(poisoned.Text).Events).Id);
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, 200)), EventFactory.Actual(overview));
        Assert.Contains(app.LogLines, l => l.Contains($"Event {unwritable.Id} of partition", StringComparison.Ordinal) && l.Contains("cannot be stored", StringComparison.Ordinal));
    }
}
