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

    [Fact]
    public async Task Success_rates_and_active_agents_and_users_are_counted_from_outcomes_and_named_values()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "success-rates" }, "ingest", "read");
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");
        var at = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");
        object Call(string agent, string? user, string task, bool? ok, int i) =>
            new { agent_name = agent, provider = "p", model = "m", timestamp = at, user_id = user, task_type = task, task_success = ok, idempotency_key = $"s{i}" };
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = new[]
            {
                Call("a", "u1", "review", true, 0), Call("a", "u1", "review", true, 1), Call("a", "u1", "review", true, 2), Call("a", "u1", "review", false, 3),
                Call("b", "u2", "fix", false, 4),
                Call("c", null, "chat", null, 5),
            },
        }, key)).Status);
        await app.WaitForEventsAsync(6, today, today, key: key);

        var overview = (await app.SendAsync("GET", "/api/v1/metrics/overview?range=today", key: key)).Body!.Value;
        async Task<(string?, decimal?)[]> Rates(string by) =>
            (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by={by}&range=today", key: key)).Body!.Value.GetProperty("items").EnumerateArray()
                .Select(i => (i.Str("key"), i.GetProperty("success_rate_pct").ValueKind == System.Text.Json.JsonValueKind.Null ? (decimal?)null : i.Dec("success_rate_pct")))
                .OrderBy(x => x.Item1, StringComparer.Ordinal).ToArray();

        Assert.Equal((3L, 2L, 60.0m), (overview.Long("active_agents"), overview.Long("active_users"), overview.Dec("success_rate_pct"))); // 3 of 5 outcomes
        Assert.Equal([("a", 75.0m), ("b", 0.0m), ("c", null)], await Rates("agent"));
        Assert.Equal([("chat", null), ("fix", 0.0m), ("review", 75.0m)], await Rates("task_type"));
    }

    [Fact]
    public async Task Top_n_folds_the_rest_into_other_and_the_order_follows_sort()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, key) = await app.CreateWorkspaceAsync(new { name = "top-n" }, "ingest", "read");
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd");
        var at = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");
        // Cost order: a, b, c, d. Token order: d (100), c (30), b, a. Events: c (3), then a, b, d (1 each, by key).
        var calls = new (string Agent, decimal Cost, int Tokens, int Count)[] { ("a", 4m, 10, 1), ("b", 3m, 20, 1), ("c", 1.5m, 10, 3), ("d", 1m, 100, 1) }; // c: 3 × (0.50, 10 tokens)
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = calls.SelectMany(c => Enumerable.Range(0, c.Count).Select(i => new { agent_name = c.Agent, provider = "p", model = "m", timestamp = at, input_tokens = c.Tokens, cost_usd = c.Cost / c.Count, idempotency_key = $"{c.Agent}{i}" })).ToArray(),
        }, key)).Status);
        await app.WaitForEventsAsync(6, today, today, key: key);

        async Task<System.Text.Json.JsonElement> Get(string query) => (await app.SendAsync("GET", $"/api/v1/metrics/breakdown?by=agent&range=today&{query}", key: key)).Body!.Value;
        var byCost = await Get("top=2");
        var byTokens = await Get("top=2&sort=tokens");
        var byEvents = await Get("sort=events");
        var bad = await app.SendAsync("GET", "/api/v1/metrics/breakdown?by=agent&top=0", key: key);
        var badSort = await app.SendAsync("GET", "/api/v1/metrics/breakdown?by=agent&sort=colour", key: key);

        Assert.Equal(["a", "b"], byCost.GetProperty("items").EnumerateArray().Select(i => i.Str("key")));
        Assert.Equal(("other", 4L, 2.5m, 130L, 2L), (byCost.GetProperty("other").Str("key"), byCost.GetProperty("other").Long("events"), byCost.GetProperty("other").Dec("cost_usd"), byCost.GetProperty("other").Long("input_tokens"), byCost.Long("other_values")));
        Assert.Equal(["d", "c"], byTokens.GetProperty("items").EnumerateArray().Select(i => i.Str("key")));
        Assert.Equal((7.0m, "tokens"), (byTokens.GetProperty("other").Dec("cost_usd"), byTokens.Str("sort")));
        Assert.Equal(["c", "a", "b", "d"], byEvents.GetProperty("items").EnumerateArray().Select(i => i.Str("key")));
        Assert.Equal((System.Text.Json.JsonValueKind.Null, 0L), (byEvents.GetProperty("other").ValueKind, byEvents.Long("other_values")));
        Assert.Equal((400, "top"), (bad.Status, bad.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal((400, "sort"), (badSort.Status, badSort.Body!.Value.GetProperty("errors")[0].Str("field")));
    }
}
