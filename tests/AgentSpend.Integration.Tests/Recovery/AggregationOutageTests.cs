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
        // The outage is a cut network rather than a stopped Azurite: a stopping Azurite finishes the requests of
        // open connections, so on a fast machine the counting could end before the outage began.
        await using var link = StorageLink.Open(azurite);
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AzureWebJobsStorage"] = link.ConnectionString });
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
        while ((counted = await CountedAsync(app, day)) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        link.Cut();
        await Task.Delay(TimeSpan.FromSeconds(30));
        link.Restore();
        Assert.InRange(counted, 1, Events - 1); // the outage began mid-way

        var overview = await app.WaitForEventsAsync(Events, Json.Day(day), Json.Day(day), TimeSpan.FromSeconds(120));
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, Events)), EventFactory.Actual(overview));
        Assert.Equal(0, await queue.GetApproximateCountAsync());
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue)).GetApproximateCountAsync());
        var warnings = string.Join('\n', app.LogLines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal)).Take(20));
        // Met by the counting itself (a write failed) or by the listener (a receive or a probe): which one sees it first
        // depends on how long the failed writes take to give up, so either shows the outage came while counting.
        Assert.True(
            app.LogLines.Any(line => line.Contains("storage is unavailable", StringComparison.Ordinal)
                || line.Contains("Aggregation of partition", StringComparison.Ordinal)
                || line.Contains("Polling queue usage-ingest failed", StringComparison.Ordinal)),
            $"the outage was not met while counting; warnings:\n{warnings}");
        Assert.False(app.LogLines.Any(line => line.Contains(" failed on message ", StringComparison.Ordinal)), $"the outage used up a message's tries:\n{warnings}");
        Assert.DoesNotContain(app.LogLines, line => line.Contains("moved to", StringComparison.Ordinal));
    }

    private static async Task<long> CountedAsync(TestApp app, DateOnly day) =>
        (await app.GetJsonAsync($"/api/v1/metrics/overview?from={Json.Day(day)}&to={Json.Day(day)}")).Long("events");
}
