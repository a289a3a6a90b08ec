using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Tenancy;

public sealed class PlanLimitTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private static readonly Dictionary<string, string?> Settings = new() { ["AGENTSPEND_LOCAL_TRIGGERS"] = "false" };

    private static object Event(string agent, string id) => new
    {
        agent_name = agent, provider = "openai", model = "gpt-5", timestamp = DateTimeOffset.UtcNow.ToString("O"), input_tokens = 10, idempotency_key = id,
    };

    [Fact]
    public async Task Events_of_agents_beyond_the_cap_are_refused_and_listed()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "capped", limits = new { max_agents = 2 } });

        var first = await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Event("a", "1"), Event("b", "2"), Event("c", "3"), Event("a", "4"), Event("d/#?", "5") } }, key);
        var second = await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Event("b", "6"), Event("e", "7") } }, key);

        Assert.Equal(202, first.Status);
        Assert.Equal((3L, 2L), (first.Body!.Value.Long("accepted"), first.Body.Value.Long("rejected")));
        Assert.Equal(["c", "d/#?"], first.Body.Value.GetProperty("rejected_agents").EnumerateArray().Select(a => a.GetString()!).ToArray());
        Assert.Equal([2L, 4L], first.Body.Value.GetProperty("errors").EnumerateArray().Select(e => e.Long("index")).ToArray());
        Assert.All(first.Body.Value.GetProperty("errors").EnumerateArray(), e => Assert.Equal("agent_name", e.Str("field")));
        Assert.Equal((1L, 1L, "e"), (second.Body!.Value.Long("accepted"), second.Body.Value.Long("rejected"), second.Body.Value.GetProperty("rejected_agents")[0].GetString()));
    }

    [Fact]
    public async Task The_daily_quota_answers_429_daily_limit_with_retry_after_and_queues_nothing_more()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "quota", limits = new { events_per_day = 5 } });
        var queue = app.Storage.GetQueue(Core.Storage.StorageNames.IngestQueue);
        var queuedBefore = await queue.GetApproximateCountAsync();

        var three = await app.SendAsync("POST", "/api/v1/ingest", new { events = Enumerable.Range(0, 3).Select(i => Event("a", $"q{i}")).ToArray() }, key);
        var tooMany = await app.SendAsync("POST", "/api/v1/ingest", new { events = Enumerable.Range(3, 3).Select(i => Event("a", $"q{i}")).ToArray() }, key);
        var two = await app.SendAsync("POST", "/api/v1/ingest", new { events = Enumerable.Range(6, 2).Select(i => Event("a", $"q{i}")).ToArray() }, key);
        var full = await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { Event("a", "q9") } }, key);

        Assert.Equal((202, 429, 202, 429), (three.Status, tooMany.Status, two.Status, full.Status));
        Assert.Equal(("application/problem+json", "daily_limit"), (full.MediaType, full.Body!.Value.Str("reason")));
        Assert.InRange(full.RetryAfter!.Value.TotalSeconds, 1, 86_400);
        Assert.Equal(queuedBefore + 2, await queue.GetApproximateCountAsync());
    }

    [Fact]
    public async Task Retention_may_not_exceed_the_plan_ceiling()
    {
        await using var app = await TestApp.StartAsync(azurite, Settings);
        var created = await app.SendAsync("POST", "/api/v1/workspaces", new { name = "ceiling", limits = new { retention_ceiling_days = 30 } });
        var id = created.Body!.Value.Str("id");

        var tooLong = await app.SendAsync("PATCH", $"/api/v1/workspaces/{id}", new { retention_days = 31 });
        var lowered = await app.SendAsync("PATCH", $"/api/v1/workspaces/{id}", new { limits = new { retention_ceiling_days = 10 } });
        var fits = await app.SendAsync("PATCH", $"/api/v1/workspaces/{id}", new { retention_days = 30 });

        Assert.Equal(30L, created.Body.Value.Long("retention_days")); // the default 90 is capped by the ceiling
        Assert.Equal((400, "retention_days"), (tooLong.Status, tooLong.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal(400, lowered.Status); // the stored 30 days would exceed a 10-day ceiling
        Assert.Equal(200, fits.Status);
    }
}
