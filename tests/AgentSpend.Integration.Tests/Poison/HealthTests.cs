using AgentSpend.Core.Storage;
using AgentSpend.Functions.Health;
using AgentSpend.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentSpend.Integration.Tests.Poison;

/// <summary>/api/health is anonymous: it reads the poison queues' depths at most once per few seconds, and says when storage is down.</summary>
public sealed class HealthTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly string Ok = $$"""{"status":"ok","version":"{{HealthEndpoints.Version}}","storage":"ok","poison":[]}""";

    [Fact]
    public async Task Many_callers_at_once_cost_one_read_of_the_poison_queues_and_the_depths_are_read_again_only_once_they_are_old()
    {
        var clock = new ShiftedClock();
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AGENTSPEND_LOCAL_TRIGGERS"] = "false", // no queue polling: every storage request counted here is health's
            ["AGENTSPEND_KEY_USAGE_FLUSH_SECONDS"] = "3600",
        }, clock);
        var requests = app.Services.GetRequiredService<StorageRequestCounter>();
        var before = requests.Requests;

        var first = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => app.SendAsync("GET", "/api/health", key: null)));
        var afterFirst = requests.Requests;
        await azurite.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.AlertsQueue)).SendAsync("{}"); // the fixture's own client: not counted
        var cached = new List<Reply>();
        for (var i = 0; i < 50; i++)
        {
            cached.Add(await app.SendAsync("GET", "/api/health", key: null));
        }

        var afterCached = requests.Requests;
        clock.Offset = TimeSpan.FromSeconds(31); // past the longest a report is answered without waiting for a new read
        var fresh = await app.SendAsync("GET", "/api/health", key: null);

        Assert.All(first.Concat(cached), r => Assert.Equal((200, Ok), (r.Status, r.Text)));
        Assert.Equal(2, afterFirst - before); // one read: the depth of each of the two poison queues
        Assert.Equal(afterFirst, afterCached);
        Assert.Equal((200, $$"""{"status":"degraded","version":"{{HealthEndpoints.Version}}","storage":"ok","poison":[{"queue":"alerts-poison","approximate_messages":1}]}"""), (fresh.Status, fresh.Text));
        Assert.Equal(2, requests.Requests - afterCached);
    }

    [Fact]
    public async Task While_storage_is_down_health_answers_200_degraded_with_storage_unreachable_and_ok_once_it_is_back()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        Reply down;
        await azurite.StopAsync();
        try
        {
            down = await app.SendAsync("GET", "/api/health", key: null);
        }
        finally
        {
            await azurite.RestartAsync();
        }

        Assert.Equal((200, $$"""{"status":"degraded","version":"{{HealthEndpoints.Version}}","storage":"unreachable","poison":[]}"""), (down.Status, down.Text));
        Assert.Contains(app.LogLines, l => l.StartsWith("Warning AgentSpend.Core.Poison.QueueHealth: Health could not read the poison queues' depths: storage is unreachable", StringComparison.Ordinal));

        // The unreachable report is kept a few seconds too (storage is not asked per request while it is down), then read again.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        Reply up;
        while ((up = await app.SendAsync("GET", "/api/health", key: null)).Text != Ok && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        Assert.Equal((200, Ok), (up.Status, up.Text));
    }

    [Fact]
    public async Task Liveness_never_reads_storage_and_readiness_answers_503_with_retry_after_while_a_poison_queue_holds_messages()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AGENTSPEND_LOCAL_TRIGGERS"] = "false",
            ["AGENTSPEND_KEY_USAGE_FLUSH_SECONDS"] = "3600",
        });
        var requests = app.Services.GetRequiredService<StorageRequestCounter>();
        var health = app.Services.GetRequiredService<AgentSpend.Core.Poison.QueueHealth>();
        await DrainPoisonQueuesAsync(); // what the other tests of this class left

        var before = requests.Requests;
        var live = await app.SendAsync("GET", "/api/health/live", key: null);
        Assert.Equal((200, $$"""{"status":"ok","version":"{{HealthEndpoints.Version}}"}"""), (live.Status, live.Text));
        Assert.Equal(before, requests.Requests);

        health.Forget();
        var ready = await app.SendAsync("GET", "/api/health/ready", key: null);
        Assert.Equal((200, Ok), (ready.Status, ready.Text));

        var poison = azurite.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue));
        await poison.SendAsync("{}");
        health.Forget();
        using var notReady = await app.Client.GetAsync("/api/health/ready");
        await DrainPoisonQueuesAsync(); // the other tests of this class expect empty poison queues

        Assert.Equal(503, (int)notReady.StatusCode);
        Assert.Equal("5", notReady.Headers.RetryAfter?.ToString());
        Assert.Equal(
            $$"""{"status":"degraded","version":"{{HealthEndpoints.Version}}","storage":"ok","poison":[{"queue":"usage-ingest-poison","approximate_messages":1}]}""",
            await notReady.Content.ReadAsStringAsync());
        Assert.Equal(200, (await app.SendAsync("GET", "/api/health/live", key: null)).Status); // alive all the same
    }

    private async Task DrainPoisonQueuesAsync()
    {
        foreach (var queue in StorageNames.TriggerQueues.Select(q => azurite.Storage.GetQueue(StorageNames.PoisonQueueOf(q))))
        {
            foreach (var message in await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30)))
            {
                await queue.DeleteAsync(message.MessageId, message.PopReceipt);
            }
        }
    }
}
