using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Recovery;

/// <summary>Storage goes away for 30 s while 10,000 accepted events are being counted: when it is back, every one is counted once.</summary>
public sealed class AggregationOutageTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const int Events = 10_000;

    [Fact]
    public async Task Ten_thousand_events_in_flight_through_a_30_second_outage_are_counted_exactly_and_none_is_poisoned()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        var queue = app.Storage.GetQueue(StorageNames.IngestQueue);
        foreach (var batch in Enumerable.Range(0, Events).Select(i => EventFactory.QueuedRealistic(i, day, "s:outage-")).Chunk(500))
        {
            foreach (var text in IngestMessageCodec.Pack(batch))
            {
                await queue.SendAsync(text);
            }
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        long counted;
        while ((counted = (await app.GetJsonAsync($"/api/v1/metrics/overview?from={Json.Day(day)}&to={Json.Day(day)}")).Long("events")) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await azurite.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(30));
        await azurite.RestartAsync();
        Assert.InRange(counted, 1, Events - 1); // the outage began mid-way

        var overview = await app.WaitForEventsAsync(Events, Json.Day(day), Json.Day(day), TimeSpan.FromSeconds(120));
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, Events)), EventFactory.Actual(overview));
        Assert.Equal(0, await queue.GetApproximateCountAsync());
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue)).GetApproximateCountAsync());
        Assert.Contains(app.LogLines, line => line.Contains("storage is unavailable", StringComparison.Ordinal));
        Assert.DoesNotContain(app.LogLines, line => line.Contains("moved to", StringComparison.Ordinal));
    }
}
