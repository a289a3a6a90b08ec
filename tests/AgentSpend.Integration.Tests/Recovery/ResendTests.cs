using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Recovery;

/// <summary>A client resends a window of events that were counted, with new events among them: every new one is counted, no old one twice.</summary>
public sealed class ResendTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Six_resent_batches_of_990_counted_events_and_10_new_ones_count_exactly_the_60_new_events()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var days = Enumerable.Range(1, 5).Select(d => today.AddDays(-d)).ToArray();
        var (from, to) = (Json.Day(days[^1]), Json.Day(days[0]));
        object Event(int i) => EventFactory.WireRealistic(i, days[i % days.Length], $"mixed-{i}");

        foreach (var batch in Enumerable.Range(0, 6_000).Chunk(1_000))
        {
            Assert.Equal(1_000, (await app.IngestAsync(new { events = batch.Select(Event).ToArray() })).Long("accepted"));
        }

        var overview = await app.WaitForEventsAsync(6_000, from, to, TimeSpan.FromSeconds(120));
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, 6_000)), EventFactory.Actual(overview));

        // Batch b resends the 990 counted events b*1000 .. b*1000+989 with 10 new ones (6000 + b*10 ..) spread among them.
        for (var b = 0; b < 6; b++)
        {
            var old = Enumerable.Range(b * 1_000, 990).ToList();
            var fresh = Enumerable.Range(6_000 + (b * 10), 10).ToArray();
            for (var k = 0; k < fresh.Length; k++)
            {
                old.Insert(k * 99, fresh[k]);
            }

            Assert.Equal(1_000, (await app.IngestAsync(new { events = old.Select(Event).ToArray() })).Long("accepted"));
        }

        overview = await app.WaitForEventsAsync(6_060, from, to, TimeSpan.FromSeconds(120));
        await Task.Delay(1_000); // a second count of anything would land now
        overview = await app.GetJsonAsync($"/api/v1/metrics/overview?from={from}&to={to}");
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, 6_060)), EventFactory.Actual(overview));
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.IngestQueue).GetApproximateCountAsync());
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue)).GetApproximateCountAsync());
        Assert.DoesNotContain(app.LogLines, line => line.Contains("moved to", StringComparison.Ordinal));
        Assert.Contains(app.LogLines, line => line.Contains("already-counted events", StringComparison.Ordinal));
    }
}
