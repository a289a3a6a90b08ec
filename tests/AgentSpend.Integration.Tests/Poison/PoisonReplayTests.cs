using AgentSpend.Core.Ingest;
using AgentSpend.Core.Storage;
using AgentSpend.Functions.Health;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Poison;

/// <summary>Poisoned ingest messages seen by the admin API and health, replayed by an instance admin, and counted exactly once.</summary>
public sealed class PoisonReplayTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Poisoned_ingest_messages_are_listed_and_make_health_degraded_and_a_replay_counts_their_events_exactly_once_and_is_audited()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        var d = Json.Day(day);
        // Three messages of 40 events each, the first of them twice: what a replay cut short between a send and its delete leaves.
        var messages = Enumerable.Range(0, 3)
            .Select(m => Assert.Single(IngestMessageCodec.Pack([.. Enumerable.Range(m * 40, 40).Select(i => EventFactory.Queued(i, day, "s:poison-"))])))
            .ToArray();
        var poison = app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue));
        foreach (var text in messages.Append(messages[0]))
        {
            await poison.SendAsync(text);
        }

        var listed = await app.SendAsync("GET", "/api/v1/admin/queues");
        var degraded = await app.SendAsync("GET", "/api/health", key: null);
        var before = await app.GetJsonAsync($"/api/v1/metrics/overview?from={d}&to={d}");

        Assert.Equal((200, """{"queues":[{"name":"usage-ingest","approximate_messages":0,"poison":{"name":"usage-ingest-poison","approximate_messages":4}},{"name":"alerts","approximate_messages":0,"poison":{"name":"alerts-poison","approximate_messages":0}}]}"""),
            (listed.Status, listed.Text));
        Assert.Equal((200, $$"""{"status":"degraded","version":"{{HealthEndpoints.Version}}","storage":"ok","poison":[{"queue":"usage-ingest-poison","approximate_messages":4}]}"""),
            (degraded.Status, degraded.Text));
        Assert.Equal(0, before.Long("events"));

        var replay = await app.SendAsync("POST", "/api/v1/admin/queues/usage-ingest/replay");
        Assert.Equal((200, """{"queue":"usage-ingest","replayed":4,"remaining":0}"""), (replay.Status, replay.Text));

        var overview = await app.WaitForEventsAsync(120, d, d);
        Assert.Equal(EventFactory.Expected(Enumerable.Range(0, 120)), EventFactory.Actual(overview));
        Assert.Equal(0, await poison.GetApproximateCountAsync());
        // Counting them raised the unpriced_model alerts of model-1 and model-3 (every tenth event has no cost): once those
        // are delivered (to no webhook), every queue is empty.
        Assert.Equal(0, await PoisonTesting.WaitForCountAsync(app.Storage.GetQueue(StorageNames.AlertsQueue), 0));
        Assert.Equal(2, (await PoisonTesting.AlertsAsync(app, TestApp.AdminKey, "unpriced_model")).Length);
        var relisted = await app.SendAsync("GET", "/api/v1/admin/queues");
        Assert.Equal("""{"queues":[{"name":"usage-ingest","approximate_messages":0,"poison":{"name":"usage-ingest-poison","approximate_messages":0}},{"name":"alerts","approximate_messages":0,"poison":{"name":"alerts-poison","approximate_messages":0}}]}""",
            relisted.Text);
        var healthy = await app.SendAsync("GET", "/api/health", key: null);
        Assert.Equal((200, $$"""{"status":"ok","version":"{{HealthEndpoints.Version}}","storage":"ok","poison":[]}"""), (healthy.Status, healthy.Text));

        var actor = (await app.GetJsonAsync("/api/v1/keys/current")).Str("id");
        var audit = await app.SendAsync("GET", "/api/v1/audit?action=queue.replay");
        var entry = Assert.Single(audit.Body!.Value.GetProperty("items").EnumerateArray());
        Assert.Equal(("default", "queue.replay", "usage-ingest", actor), (entry.Str("workspace_id"), entry.Str("action"), entry.Str("target"), entry.Str("actor_key_id")));
        Assert.Equal("""{"poison_queue":"usage-ingest-poison","approximate_messages":4}""", entry.GetProperty("before").GetRawText());
        Assert.Equal("""{"queue":"usage-ingest","replayed":4,"remaining":0}""", entry.GetProperty("after").GetRawText());

        // Nothing left: a second replay moves nothing, and says so.
        var again = await app.SendAsync("POST", "/api/v1/admin/queues/usage-ingest/replay");
        Assert.Equal((200, """{"queue":"usage-ingest","replayed":0,"remaining":0}"""), (again.Status, again.Text));
    }
}

/// <summary>Who may see and replay the queues, and what an unknown queue answers.</summary>
public sealed class AdminQueueAccessTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Only_an_instance_admin_key_may_list_or_replay_the_queues_and_an_unknown_queue_answers_404_naming_it()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?> { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" });
        var (_, otherAdmin) = await app.CreateWorkspaceAsync(new { name = "not-the-instance" });
        var defaultAdmin = (await app.SendAsync("POST", "/api/v1/keys", new { name = "default admin", scopes = new[] { "admin" } })).Body!.Value.Str("key")!;
        var poison = app.Storage.GetQueue(StorageNames.PoisonQueueOf(StorageNames.IngestQueue));
        await poison.SendAsync("b1:a poisoned message");

        foreach (var key in new[] { otherAdmin, defaultAdmin })
        {
            var list = await app.SendAsync("GET", "/api/v1/admin/queues", key: key);
            var replay = await app.SendAsync("POST", "/api/v1/admin/queues/usage-ingest/replay", key: key);
            Assert.Equal((403, "application/problem+json", 403, "application/problem+json"), (list.Status, list.MediaType, replay.Status, replay.MediaType));
        }

        Assert.Equal(401, (await app.SendAsync("GET", "/api/v1/admin/queues", key: null)).Status);
        Assert.Equal(401, (await app.SendAsync("POST", "/api/v1/admin/queues/usage-ingest/replay", key: null)).Status);

        foreach (var name in new[] { "usage-ingest-poison", "nope" })
        {
            var unknown = await app.SendAsync("POST", $"/api/v1/admin/queues/{name}/replay");
            Assert.Equal((404, "application/problem+json"), (unknown.Status, unknown.MediaType));
            var error = Assert.Single(unknown.Body!.Value.GetProperty("errors").EnumerateArray());
            Assert.Equal(("name", $"'{name}' is not a queue of this app; use usage-ingest or alerts."), (error.Str("field"), error.Str("reason")));
        }

        // Refused and unknown replays moved nothing.
        var peeked = await poison.PeekAsync(32);
        Assert.Equal("b1:a poisoned message", Assert.Single(peeked).Text);
        Assert.Equal(0, await app.Storage.GetQueue(StorageNames.IngestQueue).GetApproximateCountAsync());
        Assert.Equal(0, (await app.SendAsync("GET", "/api/v1/audit?action=queue.replay")).Body!.Value.GetProperty("items").GetArrayLength());
    }
}
