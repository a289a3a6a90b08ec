using System.Text.Json;
using AgentSpend.Integration.Tests.Infrastructure;

namespace AgentSpend.Integration.Tests.Governance;

/// <summary>The pre-flight check against block budgets, and the kill switches.</summary>
public sealed class CheckTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Theory]
    [InlineData("Asia/Kolkata")]
    [InlineData("UTC")]
    public async Task Block_budgets_stop_calls_at_the_limit_and_kill_switches_stop_them_at_once(string timezone)
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "check-" + timezone.Replace('/', '-'), timezone });
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timezone);
        var at = DateTimeOffset.UtcNow.AddMinutes(-1);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
        async Task Spend(string agent, decimal cost, string key, long expected)
        {
            Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new { events = new[] { new { agent_name = agent, provider = "p", model = "m", timestamp = at.ToString("O"), cost_usd = cost, idempotency_key = key } } }, admin)).Status);
            await app.WaitForEventsAsync(expected, Json.Day(today), Json.Day(today), key: admin);
        }

        await Spend("coder", 3.00m, "c1", 1);
        await Spend("reviewer", 0.25m, "r1", 2);
        var budget = (await app.SendAsync("POST", "/api/v1/budgets", new { scope = "agent", scope_value = "coder", metric = "cost_usd", period = "daily", limit = 5m, action = "block" }, admin)).Body!.Value.Str("id")!;
        Assert.Equal(201, (await app.SendAsync("POST", "/api/v1/budgets", new { scope = "workspace", metric = "cost_usd", period = "daily", limit = 1m, action = "alert" }, admin)).Status);

        async Task<(int Status, JsonElement Body, TimeSpan? RetryAfter)> Check(object body)
        {
            var reply = await app.SendAsync("POST", "/api/v1/check", body, admin);
            return (reply.Status, reply.Body!.Value, reply.RetryAfter);
        }

        // Room for 1.50 of the 2.00 left; an alert-only budget, long exceeded, blocks nothing.
        var allowed = await Check(new { agent_name = "coder", estimated_cost_usd = 1.5m });
        Assert.Equal((200, true, 2.00m), (allowed.Status, allowed.Body.GetProperty("allowed").GetBoolean(), allowed.Body.GetProperty("remaining").Dec(budget)));

        // No room for 2.50: refused until local midnight.
        var refused = await Check(new { agent_name = "coder", estimated_cost_usd = 2.5m });
        var midnight = new DateTimeOffset(today.AddDays(1).ToDateTime(TimeOnly.MinValue), zone.GetUtcOffset(today.AddDays(1).ToDateTime(TimeOnly.MinValue)));
        Assert.Equal((429, false, "budget_exceeded", budget, 3.00m, 5m), (refused.Status, refused.Body.GetProperty("allowed").GetBoolean(), refused.Body.Str("reason"),
            refused.Body.GetProperty("budget").Str("id"), refused.Body.GetProperty("budget").Dec("used"), refused.Body.GetProperty("budget").Dec("limit")));
        Assert.Equal(midnight, DateTimeOffset.Parse(refused.Body.Str("resume_at")!));
        Assert.InRange(refused.RetryAfter!.Value, midnight - DateTimeOffset.UtcNow - TimeSpan.FromSeconds(5), midnight - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5));
        Assert.Equal(200, (await Check(new { agent_name = "reviewer", estimated_cost_usd = 2.5m })).Status); // not this agent's budget

        // Hard stop: once usage reaches the limit, even a call estimated at nothing is refused, and the agent is paused.
        // Checks re-read budgets and stops once a second in the background, so counted usage stops calls within a few seconds.
        await Spend("coder", 2.00m, "c2", 3);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(5);
        (int Status, JsonElement Body, TimeSpan? RetryAfter) stopped;
        do
        {
            await Task.Delay(200);
            stopped = await Check(new { agent_name = "coder" });
        }
        while ((stopped.Body.Str("reason") != "agent_paused" || stopped.Body.GetProperty("budget").Dec("used") != 5.00m) && DateTimeOffset.UtcNow < deadline);
        Assert.Equal((429, "agent_paused", budget, 5.00m), (stopped.Status, stopped.Body.Str("reason"), stopped.Body.GetProperty("budget").Str("id"), stopped.Body.GetProperty("budget").Dec("used")));
        Assert.Equal(midnight, DateTimeOffset.Parse(stopped.Body.Str("resume_at")!));

        async Task<(int, string?)> Problem(string method, string path, object? body) =>
            await app.SendAsync(method, path, body, admin) is var r ? (r.Status, r.Body?.GetProperty("errors")[0].Str("field")) : default;

        // A budget reset: what the period used so far no longer counts, so calls are allowed again.
        var reset = await app.SendAsync("POST", $"/api/v1/budgets/{budget}/reset", key: admin);
        Assert.Equal((200, 0m, "ok"), (reset.Status, reset.Body!.Value.GetProperty("usage").Dec("used"), reset.Body.Value.GetProperty("usage").Str("status")));
        var afterReset = await Check(new { agent_name = "coder", estimated_cost_usd = 4.5m });
        Assert.Equal((200, 5.00m), (afterReset.Status, afterReset.Body.GetProperty("remaining").Dec(budget)));
        Assert.Equal((404, "id"), await Problem("POST", "/api/v1/budgets/bud_0000000000000000/reset", null));

        // Kill switches: at once, for one agent or all; the agents list shows them; resume lifts them.
        Assert.Equal(200, (await app.SendAsync("POST", "/api/v1/agents/reviewer/kill", new { reason = "runaway loop" }, admin)).Status);
        Assert.Equal((429, "killed"), ((await Check(new { agent_name = "reviewer" })).Status, (await Check(new { agent_name = "reviewer" })).Body.Str("reason")));
        var agents = (await app.SendAsync("GET", "/api/v1/agents", key: admin)).Body!.Value.GetProperty("agents").EnumerateArray().ToDictionary(a => a.Str("name")!, a => a.Str("status"));
        Assert.Equal("killed", agents["reviewer"]);
        Assert.Equal(204, (await app.SendAsync("POST", "/api/v1/agents/reviewer/resume", key: admin)).Status);
        Assert.Equal(200, (await Check(new { agent_name = "reviewer" })).Status);
        Assert.Equal(200, (await app.SendAsync("POST", "/api/v1/agents/kill-all", key: admin)).Status);
        Assert.Equal("killed", (await Check(new { agent_name = "some-new-agent" })).Body.Str("reason"));
        Assert.Equal(204, (await app.SendAsync("POST", "/api/v1/agents/resume-all", key: admin)).Status);
        Assert.Equal(200, (await Check(new { agent_name = "reviewer" })).Status);

        // Clear errors.
        Assert.Equal((404, "name"), await Problem("POST", "/api/v1/agents/ghost/kill", null));
        Assert.Equal((404, "name"), await Problem("POST", "/api/v1/agents/coder/resume", null));
        Assert.Equal((400, "agent_name"), await Problem("POST", "/api/v1/check", new { estimated_cost_usd = 1m }));
        Assert.Equal((400, "estimated_tokens"), await Problem("POST", "/api/v1/check", new { agent_name = "coder", estimated_tokens = -1 }));
    }

    [Fact]
    public async Task A_registered_tools_cost_replaces_the_callers_estimate_and_its_spend_is_reported()
    {
        await using var app = await TestApp.StartAsync(azurite);
        var (_, admin) = await app.CreateWorkspaceAsync(new { name = "tools" });
        var at = DateTimeOffset.UtcNow.AddMinutes(-1);
        var today = Json.Day(DateOnly.FromDateTime(at.UtcDateTime));
        Assert.Equal(202, (await app.SendAsync("POST", "/api/v1/ingest", new
        {
            events = Enumerable.Range(0, 3).Select(i => new { agent_name = "coder", provider = "p", model = "m", timestamp = at.ToString("O"), cost_usd = 0.25m, tags = new { tool = i < 2 ? "web-search" : "shell" }, idempotency_key = $"t{i}" }).ToArray(),
        }, admin)).Status);
        await app.WaitForEventsAsync(3, today, today, key: admin);
        Assert.Equal(200, (await app.SendAsync("PUT", "/api/v1/tools/web-search", new { cost_per_call_usd = 0.5m, note = "search API, list price" }, admin)).Status);
        Assert.Equal(201, (await app.SendAsync("POST", "/api/v1/budgets", new { scope = "agent", scope_value = "coder", metric = "cost_usd", period = "daily", limit = 1m, action = "block" }, admin)).Status);

        // 0.75 spent of 1.00: the caller says a cent, the registry says fifty.
        var honest = await app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder", estimated_cost_usd = 0.01m }, admin);
        var tool = await app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder", tool = "web-search", estimated_cost_usd = 0.01m }, admin);
        Assert.Equal((200, 0.01m), (honest.Status, honest.Body!.Value.Dec("cost_usd")));
        Assert.Equal((429, "budget_exceeded", 0.5m), (tool.Status, tool.Body!.Value.Str("reason"), tool.Body.Value.Dec("cost_usd")));

        var list = (await app.SendAsync("GET", "/api/v1/tools", key: admin)).Body!.Value.GetProperty("items").EnumerateArray().Single();
        Assert.Equal(("web-search", 0.5m, 0.50m, 2L), (list.Str("name"), list.Dec("cost_per_call_usd"), list.Dec("month_cost_usd"), list.Long("month_events")));

        var unknown = await app.SendAsync("POST", "/api/v1/check", new { agent_name = "coder", tool = "teleport" }, admin);
        Assert.Equal((400, "tool"), (unknown.Status, unknown.Body!.Value.GetProperty("errors")[0].Str("field")));
        var negative = await app.SendAsync("PUT", "/api/v1/tools/web-search", new { cost_per_call_usd = -1m }, admin);
        Assert.Equal((400, "cost_per_call_usd"), (negative.Status, negative.Body!.Value.GetProperty("errors")[0].Str("field")));
        Assert.Equal(204, (await app.SendAsync("DELETE", "/api/v1/tools/web-search", key: admin)).Status);
        Assert.Equal(404, (await app.SendAsync("DELETE", "/api/v1/tools/web-search", key: admin)).Status);
    }

    [Fact]
    public async Task A_key_past_its_rate_and_burst_gets_429_rate_limited_and_another_key_does_not()
    {
        await using var app = await TestApp.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["AGENTSPEND_KEY_RATE_PER_SECOND"] = "1",
            ["AGENTSPEND_KEY_BURST"] = "3",
        });
        var (_, first) = await app.CreateWorkspaceAsync(new { name = "rate-a" }, "ingest");
        var (_, second) = await app.CreateWorkspaceAsync(new { name = "rate-b" }, "ingest");
        var check = new { agent_name = "coder" };

        var burst = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            burst.Add((await app.SendAsync("POST", "/api/v1/check", check, first)).Status);
        }

        var limited = await app.SendAsync("POST", "/api/v1/check", check, first);
        var other = await app.SendAsync("POST", "/api/v1/check", check, second);

        Assert.Equal([200, 200, 200], burst.Take(3));
        Assert.Equal((429, "rate_limited", "application/problem+json"), (limited.Status, limited.Body!.Value.Str("reason"), limited.MediaType));
        Assert.InRange(limited.RetryAfter!.Value.TotalSeconds, 1, 2);
        Assert.Equal(200, other.Status);
    }
}
