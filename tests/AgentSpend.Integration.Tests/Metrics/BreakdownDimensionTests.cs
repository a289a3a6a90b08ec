using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Metrics;

public sealed class BreakdownDimensionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Framework_task_type_harness_repo_and_branch_break_down_exactly_and_unnamed_values_are_null()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "dimensions" }, "ingest", "read");
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");
        var at = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = new object[]
            {
                new { agent_name = "a", provider = "p", model = "m", timestamp = at, cost_usd = 1.0m, framework = "langchain", task_type = "review", tags = new { harness = "claude-code", repo = "acme/api", branch = "main" }, idempotency_key = "d1" },
                new { agent_name = "a", provider = "p", model = "m", timestamp = at, cost_usd = 2.0m, framework = "langchain", task_type = "fix", tags = new { harness = "codex", repo = "acme/api", branch = "feature/x" }, idempotency_key = "d2" },
                new { agent_name = "a", provider = "p", model = "m", timestamp = at, cost_usd = 4.0m, idempotency_key = "d3" },
            },
        }, key)).Status);
        await app.WaitForEventsAsync(3, today, today, key: key);

        async Task<(string?, decimal)[]> By(string dimension) =>
            (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by={dimension}&range=today", key: key)).Body!.Value
                .GetProperty("items").EnumerateArray().Select(i => (i.Str("key"), i.Dec("cost_usd"))).ToArray();

        Assert.Equal([(null, 4.0m), ("langchain", 3.0m)], await By("framework"));
        Assert.Equal([(null, 4.0m), ("fix", 2.0m), ("review", 1.0m)], await By("task_type"));
        Assert.Equal([(null, 4.0m), ("codex", 2.0m), ("claude-code", 1.0m)], await By("harness"));
        Assert.Equal([(null, 4.0m), ("acme/api", 3.0m)], await By("repo"));
        Assert.Equal([(null, 4.0m), ("feature/x", 2.0m), ("main", 1.0m)], await By("branch"));
    }
}
