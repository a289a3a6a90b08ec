using AgentSpend.Core.Aggregation;
using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Pipeline;

/// <summary>No event is counted twice: client resends, queue redelivery, and concurrent aggregators.</summary>
public sealed class ExactlyOnceTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    // Each test uses its own day, so totals of one test never include another's events.
    private static DateOnly Day(int daysAgo) => DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-daysAgo);

    [Fact]
    public async Task The_same_batch_sent_twice_is_counted_once()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var day = Day(2);
        var batch = new { events = Enumerable.Range(0, 300).Select(i => EventFactory.Wire(i, day, $"resend-{i}")).ToArray() };

        Assert.Equal(300, (await app.IngestAsync(batch)).Long("accepted"));
        Assert.Equal(300, (await app.IngestAsync(batch)).Long("accepted"));

        var overview = await app.WaitForEventsAsync(300, Json.Day(day), Json.Day(day));
        await Task.Delay(500); // a second count, if any, would land now
        overview = await app.GetJsonAsync($"/api/v1/metrics/overview?from={Json.Day(day)}&to={Json.Day(day)}");
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, 300)), EventFactory.Actual(overview));
    }

    [Fact]
    public async Task A_redelivered_message_is_counted_once_even_for_events_with_server_ids()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var day = Day(3);
        // Server ids are fixed at ingest, before queueing: the same message text twice is one set of events.
        var text = Assert.Single(IngestMessageCodec.Pack(Enumerable.Range(0, 250).Select(i => EventFactory.Queued(i, day, "s:redeliver-")).ToArray()));
        var queue = app.Storage.GetQueue(StorageNames.IngestQueue);
        await queue.SendAsync(text);
        await app.WaitForEventsAsync(250, Json.Day(day), Json.Day(day));
        await queue.SendAsync(text);
        await queue.SendAsync(text);

        var overview = await app.WaitForEventsAsync(251, Json.Day(day), Json.Day(day), TimeSpan.FromSeconds(3));

        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, 250)), EventFactory.Actual(overview));
        Assert.Equal(0, await queue.GetApproximateCountAsync());
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue)).GetApproximateCountAsync());
    }

    [Fact]
    public async Task Two_aggregators_on_the_same_day_with_overlapping_messages_stay_exact()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var day = Day(4);
        var messages = Enumerable.Range(0, 8)
            .Select(m => new IngestMessage { Events = Enumerable.Range(m * 400, 400).Select(i => EventFactory.Queued(i, day, "s:concurrent-")).ToArray() })
            .ToArray();
        var first = app.Services.GetRequiredService<UsageAggregator>();
        var second = ActivatorUtilities.CreateInstance<UsageAggregator>(app.Services);

        // Both get messages 2..5; each also has two of its own. All 3,200 events share one partition.
        var outcomes = await Task.WhenAll(
            first.AggregateAsync(messages[..6], CancellationToken.None),
            second.AggregateAsync(messages[2..], CancellationToken.None));

        Assert.All(outcomes.SelectMany(o => o.Failed), Assert.Null);
        Assert.Equal(3200, outcomes.Sum(o => o.Counted));
        Assert.Equal(1600, outcomes.Sum(o => o.Duplicates));
        var overview = await app.GetJsonAsync($"/api/v1/metrics/overview?from={Json.Day(day)}&to={Json.Day(day)}");
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, 3200)), EventFactory.Actual(overview));
        var agents = await app.GetJsonAsync($"/api/v1/metrics/breakdown?by=agent&from={Json.Day(day)}&to={Json.Day(day)}");
        Assert.Equal(13, agents.GetProperty("items").GetArrayLength());
        Assert.Equal(3200, agents.GetProperty("items").EnumerateArray().Sum(i => i.Long("events")));
    }

    [Fact]
    public async Task Two_app_instances_draining_one_queue_onto_one_day_stay_exact()
    {
        await using var one = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var day = Day(5);
        var queue = one.Storage.GetQueue(StorageNames.IngestQueue);
        foreach (var m in Enumerable.Range(0, 40))
        {
            await queue.SendAsync(Assert.Single(IngestMessageCodec.Pack(Enumerable.Range(m * 100, 100).Select(i => EventFactory.Queued(i, day, "s:two-apps-")).ToArray())));
        }

        // Two standalone apps, each with its own trigger runner, compete for the same messages and bucket rows.
        await using var a = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_AGGREGATION_CONCURRENCY"] = "2" });
        await using var b = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_AGGREGATION_CONCURRENCY"] = "2" });

        var overview = await a.WaitForEventsAsync(4000, Json.Day(day), Json.Day(day));

        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, 4000)), EventFactory.Actual(overview));
    }
}
